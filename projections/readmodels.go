package projections

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Sentinel errors of the read models (ErrNotFound is in errors.go).
var (
	// ErrInvalidQuery: a query's parameters are invalid (limit, cursor,
	// grouping, date range).
	ErrInvalidQuery = errs.New(errs.Invalid, "projections: invalid query")
	// ErrClosed: the read models are closed.
	ErrClosed = errs.New(errs.Unavailable, "projections: closed")
)

// ReadModels are the SQL read models of the ledger, in one SQLite file
// per generation, with the projectors that keep them up to date (Run), the
// queries the HTTP layer serves, and Rebuild. Safe for concurrent use.
type ReadModels struct {
	cfg Config

	// cur is the generation answering queries and fed by Run.
	cur atomic.Pointer[generation]

	metrics *metrics
	stats   *stats

	// notify is closed and replaced whenever checkpoints move or a
	// generation is swapped in; WaitForPosition waits on it.
	notifyMu sync.Mutex
	notify   chan struct{}

	// runMu guards run, the control of a running Run.
	runMu sync.Mutex
	run   *runControl

	// rebuildMu serialises rebuilds.
	rebuildMu sync.Mutex

	closeOnce sync.Once
	closed    atomic.Bool
}

// Open opens the read models in cfg.Dir (creating the directory and an
// empty database the first time), migrating the schema. It does not
// project anything: call Run.
func Open(ctx context.Context, cfg Config) (*ReadModels, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("open read models: %w", err)
	}
	name, err := readCurrent(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("open read models in %s: %w", cfg.Dir, err)
	}
	fresh := name == ""
	if fresh {
		if name, err = nextGenName(cfg.Dir); err != nil {
			return nil, fmt.Errorf("open read models: %w", err)
		}
	}
	if err := removeOtherGenerations(cfg.Dir, name); err != nil {
		return nil, fmt.Errorf("open read models: %w", err)
	}
	g, err := openGeneration(ctx, cfg, name)
	if err != nil {
		return nil, err
	}
	if fresh {
		if err := writeCurrent(cfg.Dir, name); err != nil {
			_ = g.close()
			return nil, fmt.Errorf("open read models: %w", err)
		}
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		_ = g.close()
		return nil, fmt.Errorf("open read models: %w", err)
	}
	r := &ReadModels{cfg: cfg, metrics: m, stats: newStats(), notify: make(chan struct{})}
	r.cur.Store(g)
	r.refreshGauges(g, 0)
	return r, nil
}

// removeOtherGenerations deletes the generation files left by a rebuild
// that did not finish (a crash before its swap).
func removeOtherGenerations(dir, keep string) error {
	names, err := generationFiles(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n != keep {
			if err := removeGenerationFiles(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes the read models. Cancel Run's context and wait for Run to
// return first.
func (r *ReadModels) Close() error {
	var err error
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.rebuildMu.Lock()
		defer r.rebuildMu.Unlock()
		if g := r.cur.Load(); g != nil {
			err = g.close()
		}
		r.broadcast()
	})
	return err
}

// acquire returns the current generation, held open until release.
func (r *ReadModels) acquire() (*generation, error) {
	for {
		if r.closed.Load() {
			return nil, ErrClosed
		}
		g := r.cur.Load()
		if g.acquire() {
			return g, nil
		}
		// g was swapped out and closed meanwhile: take the new one.
	}
}

// broadcast wakes WaitForPosition.
func (r *ReadModels) broadcast() {
	r.notifyMu.Lock()
	close(r.notify)
	r.notify = make(chan struct{})
	r.notifyMu.Unlock()
}

// WaitForPosition blocks until every projector has applied (or
// dead-lettered) the event at position pos, so that a read after it sees
// that write; it returns early with an error when ctx is done. It waits on
// a notification of each commit, not by polling.
func (r *ReadModels) WaitForPosition(ctx context.Context, pos uint64) error {
	for {
		r.notifyMu.Lock()
		ch := r.notify
		r.notifyMu.Unlock()
		if r.closed.Load() {
			return ErrClosed
		}
		if r.cur.Load().minCheckpoint() >= pos {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for position %d: %w", pos, ctx.Err())
		}
	}
}

// Position returns the position every projector has reached.
func (r *ReadModels) Position() uint64 { return r.cur.Load().minCheckpoint() }
