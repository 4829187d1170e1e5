package projections

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// migrationFiles are the SQL migrations of the read-model schema, applied
// with goose's provider API on every database file opened.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Files of the read-model directory.
//
// WARNING: a persisted contract: a newer binary must find the files an
// older one wrote.
const (
	currentFile = "CURRENT"
	genPrefix   = "readmodels-"
	genSuffix   = ".db"
)

// genName returns the file name of generation n.
func genName(n int) string { return fmt.Sprintf("%s%06d%s", genPrefix, n, genSuffix) }

// genNumber parses a generation file name, and returns false for any other
// name.
func genNumber(name string) (int, bool) {
	if !strings.HasPrefix(name, genPrefix) || !strings.HasSuffix(name, genSuffix) {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, genPrefix), genSuffix))
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// generation is one database file of read models with its connections. A
// rebuild makes a new generation and swaps it in.
type generation struct {
	name string
	path string
	// w is the writer: one connection, BEGIN IMMEDIATE, used by the one
	// applier of this generation.
	w *sql.DB
	// r answers queries: a pool of read-only connections (WAL lets them
	// read while w writes).
	r *sql.DB

	// mu guards closed; queries hold it for reading while they run, so
	// closing waits for them.
	mu     sync.RWMutex
	closed bool

	// applyMu serialises appliers (the live one, or a rebuild's).
	applyMu sync.Mutex

	// stateMu guards checkpoints and deadLetters, the committed state.
	stateMu     sync.Mutex
	checkpoints map[string]uint64
	deadLetters map[string]int64

	stmts statements

	// attestations caches attestation lookups.
	attestations *attestationCache
}

// dsn returns the data source name of a read-model file for modernc's
// driver: WAL (readers never wait for the writer), a busy timeout, and
// synchronous=NORMAL: a commit is not fsynced, so a power loss may drop the
// last commits, but never tears one; since checkpoints commit with their
// rows, the projector then simply re-applies the lost tail from the log.
func dsn(path string, cfg Config, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Set("_query_only", "1")
		q.Add("_pragma", "cache_size(-16384)")
	} else {
		q.Set("_txlock", "immediate")
		q.Add("_pragma", "cache_size(-65536)")
	}
	return path + "?" + q.Encode()
}

// openGeneration opens (creating if needed) the database file name in dir,
// applies the migrations, prepares the statements and loads the committed
// checkpoints.
func openGeneration(ctx context.Context, cfg Config, name string) (_ *generation, err error) {
	path := filepath.Join(cfg.Dir, name)
	g := &generation{name: name, path: path, attestations: newAttestationCache(cfg.CachedAttestations)}
	defer func() {
		if err != nil {
			g.closeDBs()
		}
	}()
	if g.w, err = sql.Open("sqlite", dsn(path, cfg, false)); err != nil {
		return nil, fmt.Errorf("open read models %s: %w", path, err)
	}
	if err := migrate(ctx, g.w, cfg); err != nil {
		return nil, fmt.Errorf("open read models %s: %w", path, err)
	}
	g.w.SetMaxOpenConns(1)
	g.w.SetMaxIdleConns(1)
	g.w.SetConnMaxLifetime(0)
	g.w.SetConnMaxIdleTime(0)
	if _, err := g.w.ExecContext(ctx, `INSERT OR IGNORE INTO checkpoints (projector, position) VALUES `+
		strings.TrimSuffix(strings.Repeat("(?, 0), ", len(projectorNames)), ", "), anySlice(projectorNames)...); err != nil {
		return nil, fmt.Errorf("open read models %s: create checkpoints: %w", path, err)
	}
	if g.r, err = sql.Open("sqlite", dsn(path, cfg, true)); err != nil {
		return nil, fmt.Errorf("open read models %s: %w", path, err)
	}
	g.r.SetMaxOpenConns(cfg.ReadConns)
	g.r.SetMaxIdleConns(cfg.ReadConns)
	if err := g.stmts.prepare(ctx, g.w); err != nil {
		return nil, fmt.Errorf("open read models %s: %w", path, err)
	}
	if err := g.loadState(ctx); err != nil {
		return nil, fmt.Errorf("open read models %s: %w", path, err)
	}
	return g, nil
}

// migrate brings the schema of db up to date with goose's provider API.
func migrate(ctx context.Context, db *sql.DB, cfg Config) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithSlog(cfg.Logger))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// loadState reads the committed checkpoints and dead-letter counts.
func (g *generation) loadState(ctx context.Context) error {
	cps := map[string]uint64{}
	rows, err := g.w.QueryContext(ctx, `SELECT projector, position FROM checkpoints`)
	if err != nil {
		return fmt.Errorf("load checkpoints: %w", err)
	}
	for rows.Next() {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			rows.Close()
			return fmt.Errorf("load checkpoints: %w", err)
		}
		cps[name] = uint64(pos)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("load checkpoints: %w", err)
	}
	dls := map[string]int64{}
	rows, err = g.w.QueryContext(ctx, `SELECT projector, COUNT(*) FROM dead_letters GROUP BY projector`)
	if err != nil {
		return fmt.Errorf("count dead letters: %w", err)
	}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return fmt.Errorf("count dead letters: %w", err)
		}
		dls[name] = n
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("count dead letters: %w", err)
	}
	g.stateMu.Lock()
	g.checkpoints, g.deadLetters = cps, dls
	g.stateMu.Unlock()
	return nil
}

// checkpoint returns the committed checkpoint of a projector.
func (g *generation) checkpoint(name string) uint64 {
	g.stateMu.Lock()
	defer g.stateMu.Unlock()
	return g.checkpoints[name]
}

// minCheckpoint returns the lowest committed checkpoint: every projector
// has applied every event up to it.
func (g *generation) minCheckpoint() uint64 {
	g.stateMu.Lock()
	defer g.stateMu.Unlock()
	low := uint64(0)
	for i, name := range projectorNames {
		if cp := g.checkpoints[name]; i == 0 || cp < low {
			low = cp
		}
	}
	return low
}

// deadLetterCount returns how many events a projector has dead-lettered in
// this generation.
func (g *generation) deadLetterCount(name string) int64 {
	g.stateMu.Lock()
	defer g.stateMu.Unlock()
	return g.deadLetters[name]
}

// acquire marks a query as running on g; it returns false once g is closed.
func (g *generation) acquire() bool {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return false
	}
	return true
}

// release ends a query started by acquire.
func (g *generation) release() { g.mu.RUnlock() }

// close waits for running queries, then closes the connections.
func (g *generation) close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.closeDBs()
}

func (g *generation) closeDBs() error {
	var errs []error
	errs = append(errs, g.stmts.close())
	if g.r != nil {
		errs = append(errs, g.r.Close())
	}
	if g.w != nil {
		errs = append(errs, g.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close read models %s: %w", g.path, err)
	}
	return nil
}

// sync makes the generation's file durable on its own: the WAL is folded
// into the database file and both are fsynced.
func (g *generation) sync(ctx context.Context) error {
	if _, err := g.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("checkpoint WAL of %s: %w", g.path, err)
	}
	if err := syncFile(g.path); err != nil {
		return err
	}
	return nil
}

// removeGenerationFiles deletes a database file and its WAL and shared
// memory files.
func removeGenerationFiles(path string) error {
	var errs []error
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove read models %s: %w", path, err)
	}
	return nil
}

// readCurrent returns the generation file named by dir/CURRENT, or "" when
// there is none yet.
func readCurrent(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, currentFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", currentFile, err)
	}
	name := strings.TrimSpace(string(b))
	if _, ok := genNumber(name); !ok {
		return "", fmt.Errorf("read %s: %q is not a read-model file name", currentFile, name)
	}
	return name, nil
}

// writeCurrent names the generation in use, atomically and durably: a
// temporary file is written, fsynced and renamed over CURRENT, then the
// directory is fsynced.
func writeCurrent(dir, name string) error {
	tmp := filepath.Join(dir, currentFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", currentFile, err)
	}
	_, err = f.WriteString(name + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, currentFile))
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", currentFile, err)
	}
	return syncFile(dir)
}

// syncFile fsyncs a file or directory.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// generationFiles lists the generation file names in dir, oldest first.
func generationFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if _, ok := genNumber(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, _ := genNumber(names[i])
		b, _ := genNumber(names[j])
		return a < b
	})
	return names, nil
}

// nextGenName returns a generation file name not used in dir.
func nextGenName(dir string) (string, error) {
	names, err := generationFiles(dir)
	if err != nil {
		return "", err
	}
	n := 1
	if len(names) > 0 {
		last, _ := genNumber(names[len(names)-1])
		n = last + 1
	}
	return genName(n), nil
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
