package jetstream_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkPostgresTable is the other baseline: a plain PostgreSQL events
// table with a unique (stream, version), one insert (one transaction, one
// WAL flush) per append, with the same writers. It runs when
// LEDGER_BENCH_PG_DSN names a database, e.g.
// "postgres://postgres@127.0.0.1:5432/postgres".
func BenchmarkPostgresTable(b *testing.B) {
	dsn := os.Getenv("LEDGER_BENCH_PG_DSN")
	if dsn == "" {
		b.Skip("LEDGER_BENCH_PG_DSN is not set")
	}
	type run struct {
		name           string
		writers, perTx int
	}
	// One row per transaction, and a loan request's three events in one
	// transaction (as the store appends them atomically).
	for _, r := range []run{{"writers=1", 1, 1}, {"writers=8", 8, 1}, {"writers=64", 64, 1}, {"3-events/writers=64", 64, 3}} {
		b.Run(r.name, func(b *testing.B) {
			writers := r.writers
			ctx := context.Background()
			cfg, err := pgxpool.ParseConfig(dsn)
			if err != nil {
				b.Fatal(err)
			}
			cfg.MaxConns = int32(writers)
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			table := fmt.Sprintf("ledger_bench_events_%d", time.Now().UnixNano())
			if _, err := pool.Exec(ctx, `CREATE TABLE `+table+` (
				position    bigserial PRIMARY KEY,
				stream      text        NOT NULL,
				version     bigint      NOT NULL,
				id          text        NOT NULL UNIQUE,
				type        text        NOT NULL,
				occurred_at timestamptz NOT NULL,
				data        jsonb       NOT NULL,
				UNIQUE (stream, version))`); err != nil {
				b.Fatal(err)
			}
			defer func() { _, _ = pool.Exec(context.Background(), `DROP TABLE `+table) }()
			insert := `INSERT INTO ` + table + ` (stream, version, id, type, occurred_at, data) VALUES ($1, $2, $3, $4, $5, $6)`
			versions := make([]int64, writers)
			runWriters(b, writers, func(w, _ int) (int, error) {
				stream := fmt.Sprintf("company-%d", w)
				if r.perTx == 1 {
					e := benchEvent()
					_, err := pool.Exec(ctx, insert, stream, versions[w]+1, e.ID, e.Type, e.OccurredAt, []byte(e.Data))
					if err == nil {
						versions[w]++
					}
					return 1, err
				}
				tx, err := pool.Begin(ctx)
				if err != nil {
					return 0, err
				}
				defer func() { _ = tx.Rollback(ctx) }()
				for k := range r.perTx {
					e := benchEvent()
					if _, err := tx.Exec(ctx, insert, stream, versions[w]+int64(k)+1, e.ID, e.Type, e.OccurredAt, []byte(e.Data)); err != nil {
						return 0, err
					}
				}
				if err := tx.Commit(ctx); err != nil {
					return 0, err
				}
				versions[w] += int64(r.perTx)
				return r.perTx, nil
			})
		})
	}
}
