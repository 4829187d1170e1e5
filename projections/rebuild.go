package projections

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// ProgressFunc reports a rebuild's progress: the position applied so far
// and the position the rebuild is heading for (the log's head).
type ProgressFunc func(done, total uint64)

// RebuildResult tells what a rebuild did.
type RebuildResult struct {
	// File is the new read-model file, in Config.Dir.
	File string
	// Events is how many events were applied.
	Events uint64
	// Position is the position the new read models had reached at the swap.
	Position uint64
	// DeadLetters is how many (projector, event) pairs were dead-lettered.
	DeadLetters int64
	// Duration is how long the rebuild took.
	Duration time.Duration
}

// Rebuild rebuilds every read model from the whole log into a fresh
// database file, then swaps it in: queries go on being answered from the
// current file all along, and see the new one from the swap on. The
// running projector (Run), if any, is paused only for the end of the
// rebuild (catching up with the events recorded meanwhile) and the swap,
// then resumes from the new file's checkpoints; the old file is deleted.
// An event a projector cannot apply is dead-lettered, as live. progress,
// if not nil, is called after each batch. On error (or if ctx ends) the
// fresh file is deleted and the current read models stay as they were.
func (r *ReadModels) Rebuild(ctx context.Context, progress ProgressFunc) (_ RebuildResult, err error) {
	r.rebuildMu.Lock()
	defer r.rebuildMu.Unlock()
	if r.closed.Load() {
		return RebuildResult{}, ErrClosed
	}
	started := time.Now()
	name, err := nextGenName(r.cfg.Dir)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild read models: %w", err)
	}
	g, err := openGeneration(ctx, r.cfg, name)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild read models: %w", err)
	}
	swapped := false
	defer func() {
		if !swapped {
			_ = g.close()
			_ = removeGenerationFiles(g.path)
		}
	}()
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild read models: %w", err)
	}
	f, err := startFeed(ctx, r.cfg.Store, 1, r.cfg.BufferSize, 0, 0, r.cfg.trust())
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild read models: %w", err)
	}
	defer f.close()
	a := newApplier(g, r.cfg.CacheRows)
	res := RebuildResult{File: name}
	if err := r.catchUpPipelined(ctx, a, f, head, progress, &res); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild read models: %w", err)
	}
	if err := r.catchUp(ctx, a, f, head, progress, &res); err != nil { // if the pipeline stopped early
		return RebuildResult{}, fmt.Errorf("rebuild read models: %w", err)
	}

	resume, err := r.pauseLive(ctx)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild read models: %w", err)
	}
	defer resume()
	if head, err = r.cfg.Store.Head(ctx); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild read models: %w", err)
	}
	if err := r.catchUp(ctx, a, f, head, progress, &res); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild read models: %w", err)
	}
	if err := g.sync(ctx); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild read models: %w", err)
	}
	if err := writeCurrent(r.cfg.Dir, name); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild read models: swap: %w", err)
	}
	old := r.cur.Swap(g)
	swapped = true
	res.Position = g.minCheckpoint()
	r.refreshGauges(g, head)
	r.broadcast()
	resume()

	if err := old.close(); err != nil {
		r.cfg.Logger.Warn("projections: close the replaced read models", "err", err)
	}
	if err := removeGenerationFiles(filepath.Join(r.cfg.Dir, old.name)); err != nil {
		r.cfg.Logger.Warn("projections: delete the replaced read models", "err", err)
	}
	res.Duration = time.Since(started)
	r.cfg.Logger.Info("projections: read models rebuilt", "file", name, "events", res.Events,
		"position", res.Position, "deadLetters", res.DeadLetters, "duration", res.Duration)
	return res, nil
}

// catchUpPipelined applies the feed's events to a fresh generation up to
// target, writing each batch while the next is staged: staging (applying
// events to the rows in memory, encoding them) and SQLite's writes run on
// both cores. It needs every row in memory (a fresh generation holds all
// of its rows until it outgrows Config.CacheRows); when a projector no
// longer does, it stops at the batch boundary, and catchUp goes on. Rows
// are handed off to the projectors' memory (and the attestation cache
// invalidated) before their batch commits, which is safe only because the
// fresh generation answers no query until the swap.
func (r *ReadModels) catchUpPipelined(ctx context.Context, a *applier, f *feed, target uint64, progress ProgressFunc, res *RebuildResult) error {
	g := a.gen
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan stagedBatch, 2)
	written := make(chan error, 1)
	go func() {
		err := r.writeBatches(ctx, a, batches, target, progress, res)
		if err != nil {
			cancel() // stop staging
		}
		written <- err
	}()
	g.stateMu.Lock()
	start := make([]uint64, len(a.projectors))
	for i, p := range a.projectors {
		start[i] = g.checkpoints[p.name()]
	}
	g.stateMu.Unlock()
	err := func() error {
		defer close(batches)
		for slices.Min(start) < target && a.complete() {
			items, err := f.next(ctx, r.cfg.MaxBatch)
			if err != nil {
				return err
			}
			st, err := a.stage(ctx, context.WithoutCancel(ctx), nil, items, start, deadLetter)
			if err != nil {
				return err
			}
			a.handOff(&st)
			next := slices.Clone(start)
			for j := range next {
				next[j] = max(next[j], st.res.to)
			}
			start = next
			select {
			case batches <- st:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}()
	if err != nil {
		cancel()
		if werr := <-written; werr != nil {
			err = werr // the cause, rather than the cancellation it caused
		}
		for _, p := range a.projectors {
			p.reset()
		}
		return err
	}
	return <-written
}

// writeBatches writes staged batches, each in its own transaction, and
// publishes their checkpoints.
func (r *ReadModels) writeBatches(ctx context.Context, a *applier, batches <-chan stagedBatch, target uint64, progress ProgressFunc, res *RebuildResult) error {
	var failed error
	for st := range batches {
		if failed != nil {
			continue // drain: the stager stops once ctx ends
		}
		if err := r.writeBatch(ctx, a, &st); err != nil {
			failed = err
			continue
		}
		a.publish(&st)
		res.Events += st.res.to - st.res.from + 1
		for _, n := range st.res.deadLettered {
			res.DeadLetters += int64(n)
		}
		for _, ev := range st.res.failures {
			r.cfg.Logger.Error("projections: rebuild: event dead-lettered", "projector", ev.Projector,
				"position", ev.Position, "type", ev.Type, "err", ev.Err)
		}
		if progress != nil {
			progress(st.res.to, max(target, st.res.to))
		}
	}
	return failed
}

// writeBatch writes one staged batch in a transaction.
func (r *ReadModels) writeBatch(ctx context.Context, a *applier, st *stagedBatch) (err error) {
	tx, err := a.gen.w.BeginTx(ctx, nil)
	if err != nil {
		return storageError("begin batch %d..%d: %w", st.res.from, st.res.to, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := a.write(context.WithoutCancel(ctx), tx, st); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return storageError("commit batch %d..%d: %w", st.res.from, st.res.to, err)
	}
	return nil
}

// catchUp applies the feed's events to a until every projector has reached
// target.
func (r *ReadModels) catchUp(ctx context.Context, a *applier, f *feed, target uint64, progress ProgressFunc, res *RebuildResult) error {
	for a.gen.minCheckpoint() < target {
		items, err := f.next(ctx, r.cfg.MaxBatch)
		if err != nil {
			return err
		}
		br, err := a.apply(ctx, items, deadLetter)
		if err != nil {
			return err
		}
		res.Events += uint64(len(items))
		for _, n := range br.deadLettered {
			res.DeadLetters += int64(n)
		}
		for _, ev := range br.failures {
			r.cfg.Logger.Error("projections: rebuild: event dead-lettered", "projector", ev.Projector,
				"position", ev.Position, "type", ev.Type, "err", ev.Err)
		}
		if progress != nil {
			progress(br.to, max(target, br.to))
		}
	}
	return nil
}
