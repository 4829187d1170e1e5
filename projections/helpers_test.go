package projections

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// testLogger discards the logs (failures are asserted, not read).
func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openRM opens read models in dir on store, closed at the end of the test.
func openRM(t testing.TB, dir string, store eventstore.Store, tune func(*Config)) *ReadModels {
	t.Helper()
	cfg := Config{Dir: dir, Store: store, Logger: testLogger(),
		RetryInitialInterval: 5 * time.Millisecond, RetryMaxInterval: 50 * time.Millisecond}
	if tune != nil {
		tune(&cfg)
	}
	rm, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("open read models: %v", err)
	}
	t.Cleanup(func() { _ = rm.Close() })
	return rm
}

// runRM runs rm's projector until the returned stop is called (or the test
// ends); stop waits for Run to return.
func runRM(t testing.TB, rm *ReadModels) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- rm.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitHead waits until rm has applied the store's head.
func waitHead(t testing.TB, rm *ReadModels, store eventstore.Store) uint64 {
	t.Helper()
	head, err := store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := rm.WaitForPosition(ctx, head); err != nil {
		t.Fatalf("wait for head %d: %v", head, err)
	}
	return head
}

// dump returns every row of every read-model table (checkpoints and dead
// letters included; goose's version table, which records when each
// migration ran, excluded), each row rendered as text, in key order.
func dump(t testing.TB, db *sql.DB) map[string][]string {
	t.Helper()
	ctx := t.Context()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		rows.Close()
		order := make([]string, len(cols))
		for i := range cols {
			order[i] = fmt.Sprint(i + 1)
		}
		rows, err = db.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY `+strings.Join(order, ", "))
		if err != nil {
			t.Fatal(err)
		}
		out[table] = []string{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%s=%v|", cols[i], v)
			}
			out[table] = append(out[table], b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

// assertSameRows fails the test where two dumps differ.
func assertSameRows(t testing.TB, want, got map[string][]string) {
	t.Helper()
	for table, rows := range want {
		g := got[table]
		if len(g) != len(rows) {
			t.Errorf("table %s: %d rows, want %d", table, len(g), len(rows))
			continue
		}
		for i := range rows {
			if rows[i] != g[i] {
				t.Errorf("table %s row %d:\n got %s\nwant %s", table, i, g[i], rows[i])
				break
			}
		}
	}
	for table := range got {
		if _, ok := want[table]; !ok {
			t.Errorf("unexpected table %s", table)
		}
	}
}

// appendRaw appends an event as is (for poison events the domain would
// never decide).
func appendRaw(t testing.TB, store eventstore.Store, stream, id, typ string, version int, data string) uint64 {
	t.Helper()
	res, err := store.Append(t.Context(), stream, eventstore.Any(), eventstore.NewEvent{
		ID: id, Type: typ, SchemaVersion: version, OccurredAt: time.Date(2020, 4, 1, 12, 0, 0, 0, time.UTC),
		Data: []byte(data),
	})
	if err != nil {
		t.Fatalf("append %s: %v", typ, err)
	}
	return res.Position
}
