package integrity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Run follows the event store: it subscribes from the tree's size + 1,
// appends every event as the next leaf (in durable batches of up to
// Config.BatchSize), and publishes a consistency-checked checkpoint at
// most every Config.CheckpointInterval while the log grows (and at start,
// if the tree holds leaves no checkpoint covers).
//
// Run returns ctx's error once ctx is done, or the first failure: the store
// failing, a gap or duplicate in the log (ErrOutOfOrder), a write failing,
// or the tree not extending the latest checkpoint (ErrInconsistent, an
// integrity alarm). Restarting Run resumes where the tree stopped.
func (l *Log) Run(ctx context.Context, store eventstore.Store) error {
	if _, err := l.Checkpoint(ctx); err != nil {
		return fmt.Errorf("follow log: %w", err)
	}
	size, _ := l.Size()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, below
	defer cancel()
	sub, err := store.Subscribe(ctx, uint64(size)+1)
	if err != nil {
		return fmt.Errorf("follow log from position %d: %w", size+1, err)
	}
	defer func() { _ = sub.Close() }()

	events := make(chan eventstore.Envelope, l.cfg.BatchSize)
	errc := make(chan error, 1)
	wg.Go(func() {
		for {
			env, err := sub.Next(ctx)
			if err != nil {
				errc <- err
				return
			}
			select {
			case events <- env:
			case <-ctx.Done():
				return
			}
		}
	})

	interval := l.cfg.CheckpointInterval
	var (
		lastPublished time.Time
		timer         *time.Timer
		timerC        <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	publish := func() error {
		before, _ := l.Latest()
		c, err := l.Checkpoint(ctx)
		if err != nil {
			return fmt.Errorf("follow log: %w", err)
		}
		if c.Size != before.Size {
			lastPublished = time.Now()
		}
		return nil
	}
	batch := make([]eventstore.Envelope, 0, l.cfg.BatchSize)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return ctx.Err()
			}
			return fmt.Errorf("follow log: %w", err)
		case <-timerC:
			timerC = nil
			if err := publish(); err != nil {
				return err
			}
		case env := <-events:
			batch = append(batch[:0], env)
			// Gather what arrives within CommitDelay (or a full batch): each
			// commit costs fsyncs that would otherwise compete with the
			// store's own, event after event.
			// Never gather past the next checkpoint's due time, so that a
			// checkpoint covers what arrived up to it.
			gatherFor := l.cfg.CommitDelay
			if due := interval - time.Since(lastPublished); due < gatherFor {
				gatherFor = due
			}
			gather := time.NewTimer(max(gatherFor, time.Nanosecond))
		drain:
			for len(batch) < cap(batch) {
				select {
				case env := <-events:
					batch = append(batch, env)
				case <-gather.C:
					break drain
				case <-ctx.Done():
					gather.Stop()
					return ctx.Err()
				}
			}
			gather.Stop()
			if _, err := l.Append(ctx, batch...); err != nil {
				return fmt.Errorf("follow log: %w", err)
			}
			if timerC != nil {
				continue // a publication is already due
			}
			if wait := interval - time.Since(lastPublished); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				timerC = timer.C
				continue
			}
			if err := publish(); err != nil {
				return err
			}
		}
	}
}
