// Package follow reads the event log once for several consumers: one
// subscription to the store, from the lowest position any consumer needs,
// fanned out in order to consumers that each keep their own checkpoint.
//
// It is modelled on the followers of transparency-dev/tessera: a consumer
// says how far it got (Checkpoint, read once at start), then consumes a
// stream of the events after that, committing its own progress as it goes;
// restarting the follower resumes every consumer from its checkpoint.
package follow

import (
	"context"
	"fmt"
	"sync"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// DefaultBuffer is the default Options.Buffer.
const DefaultBuffer = 4096

// ErrStopped: a consumer returned before the follower was stopped.
var ErrStopped = errs.New(errs.Internal, "follow: consumer stopped")

// Consumer is one reader of the log fed by Run.
type Consumer interface {
	// Name names the consumer in errors.
	Name() string
	// Checkpoint returns the position of the last event the consumer has
	// durably handled (0: none). Run asks once, at start, and delivers the
	// events after it.
	Checkpoint(ctx context.Context) (uint64, error)
	// Consume handles the events of in, in order, until ctx is done (then
	// it returns, with nil or ctx's error) or it fails (any other return
	// stops Run with that error).
	Consume(ctx context.Context, in *Stream) error
}

// Options tune Run.
type Options struct {
	// Buffer is how many events each consumer's stream queues
	// (DefaultBuffer when 0). A consumer holds at most twice that (the
	// queue and the batch it took before): one that falls that far
	// behind slows the reading for all.
	Buffer int
}

// Run follows store until ctx is done (then it returns nil) or something
// fails: the store (the error says at which position), or a consumer (the
// error names it; errors.Is sees its cause). It reads the log once, in
// order, from the lowest checkpoint + 1 and hands each event to every
// consumer whose checkpoint is below it. Nothing is dropped or read twice,
// and nothing piles up: when a consumer's stream is full, reading waits
// for it. Run trusts the store's order (eventstore.Store's contract): each
// consumer checks what it relies on. On return every consumer has
// returned.
func Run(ctx context.Context, store eventstore.Store, opts Options, consumers ...Consumer) error {
	if len(consumers) == 0 {
		return errs.New(errs.Invalid, "follow: no consumer")
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f := &follower{parent: parent, ctx: ctx, cancel: cancel}
	streams, from, err := f.open(ctx, consumers, opts.Buffer)
	if err != nil {
		return f.unlessStopped(err)
	}
	sub, err := store.Subscribe(ctx, from)
	if err != nil {
		return f.unlessStopped(fmt.Errorf("follow the log from %d: %w", from, err))
	}
	var wg sync.WaitGroup
	for i, c := range consumers {
		wg.Go(func() { f.consume(ctx, c, streams[i]) })
	}
	f.read(ctx, sub, from, streams)
	_ = sub.Close()
	wg.Wait()
	return f.err()
}

// follower is the state of one Run.
type follower struct {
	parent context.Context // Run's
	ctx    context.Context // the follower's own, ended by the first failure
	cancel context.CancelFunc

	mu     sync.Mutex
	failed error // the first failure
}

// open asks every consumer for its checkpoint and returns their streams
// and the position to read from.
func (f *follower) open(ctx context.Context, consumers []Consumer, buffer int) ([]*Stream, uint64, error) {
	streams := make([]*Stream, len(consumers))
	from := uint64(0)
	for i, c := range consumers {
		cp, err := c.Checkpoint(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("follow the log: consumer %s: %w", c.Name(), err)
		}
		streams[i] = newStream(f, cp+1, buffer)
		if i == 0 || cp+1 < from {
			from = cp + 1
		}
	}
	return streams, from, nil
}

// read hands the log's events to the streams until ctx is done or the
// store fails, then closes the streams.
func (f *follower) read(ctx context.Context, sub eventstore.Subscription, next uint64, streams []*Stream) {
	defer func() {
		for _, s := range streams {
			s.close()
		}
	}()
	for {
		env, err := sub.Next(ctx)
		if err != nil {
			f.fail(fmt.Errorf("follow the log: read at position %d: %w", next, err))
			return
		}
		next = env.Position + 1
		for _, s := range streams {
			if env.Position < s.from {
				continue // the consumer has it already
			}
			if !s.push(ctx, env) {
				return
			}
		}
	}
}

// consume runs one consumer; its return stops the follower.
func (f *follower) consume(ctx context.Context, c Consumer, s *Stream) {
	err := c.Consume(ctx, s)
	if ctx.Err() != nil {
		return // stopped by the follower: its cause is recorded
	}
	if err == nil {
		err = ErrStopped
	}
	f.fail(fmt.Errorf("follow the log: consumer %s: %w", c.Name(), err))
}

// fail records the first failure, unless the follower was stopped from
// outside, and stops everything.
func (f *follower) fail(err error) {
	f.mu.Lock()
	if f.failed == nil && f.parent.Err() == nil {
		f.failed = err
	}
	f.mu.Unlock()
	f.cancel()
}

// err returns the first failure (nil if none, or if stopped from
// outside).
func (f *follower) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// unlessStopped returns err, or nil if Run's context ended.
func (f *follower) unlessStopped(err error) error {
	if f.parent.Err() != nil {
		return nil
	}
	return err
}

// reason returns why the follower stopped: its first failure, or the end
// of its context; nil while it runs.
func (f *follower) reason() error {
	if err := f.err(); err != nil {
		return err
	}
	if err := f.ctx.Err(); err != nil {
		return fmt.Errorf("follow the log: %w", err)
	}
	return nil
}
