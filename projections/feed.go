package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// LogReader is the part of the event store a feed reads: an
// eventstore.Store, or a log follower's stream (see ReadModels.Consumer).
type LogReader interface {
	// Subscribe delivers every event with position ≥ from, in order.
	Subscribe(ctx context.Context, from uint64) (eventstore.Subscription, error)
	// Head returns the position of the last recorded event.
	Head(ctx context.Context) (uint64, error)
}

// feed reads the log in order from a position through a subscription,
// decodes each event in its own goroutine (so that decoding overlaps the
// projectors' writes) and hands out batches of what has arrived.
type feed struct {
	ch     chan Item
	cancel context.CancelFunc
	done   chan struct{}
	// catchUpTo is the store's head when the feed started: up to it,
	// batches are filled (the events are known to be there); after it,
	// a batch is what has arrived, so that new events wait for nothing.
	catchUpTo uint64
	// gather is how long a live batch waits for more events after its
	// first: a transaction per handful of events instead of per event. It
	// adapts between gatherMin and gatherMax: it doubles while events pour
	// in (so that a loaded projector commits less often and keeps up) and
	// halves as they thin out (so that a quiet one adds little lag).
	gather, gatherMin, gatherMax time.Duration

	// trust, when set, tells the events the command side wrote from the
	// others, which no read model uses.
	trust func(eventstore.Envelope) error

	mu  sync.Mutex
	err error // why ch was closed
}

// Thresholds of the adaptive gather delay: the events that arrive while a
// live batch waits.
const (
	gatherGrowAt   = 16 // at least this many: wait twice as long next time
	gatherShrinkAt = 4  // fewer: wait half as long
)

// startFeed subscribes to the log from position from. Live batches wait
// from gatherMin to gatherMax for more events (0: not at all).
func startFeed(ctx context.Context, store LogReader, from uint64, buffer int, gatherMin, gatherMax time.Duration, trust func(eventstore.Envelope) error) (*feed, error) {
	from = max(from, 1)
	head, err := store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscribe to the log from %d: %w", from, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	sub, err := store.Subscribe(ctx, from)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("subscribe to the log from %d: %w", from, err)
	}
	f := &feed{ch: make(chan Item, buffer), cancel: cancel, done: make(chan struct{}), catchUpTo: head,
		gather: gatherMin, gatherMin: gatherMin, gatherMax: max(gatherMin, gatherMax), trust: trust}
	go f.run(ctx, sub, from)
	return f, nil
}

func (f *feed) run(ctx context.Context, sub eventstore.Subscription, next uint64) {
	defer close(f.done)
	defer close(f.ch)
	defer sub.Close()
	for {
		env, err := sub.Next(ctx)
		if err != nil {
			f.fail(fmt.Errorf("read the log at %d: %w", next, err))
			return
		}
		if env.Position != next {
			f.fail(fmt.Errorf("read the log: got position %d, want %d (gap or duplicate)", env.Position, next))
			return
		}
		next++
		it := Item{Envelope: env}
		if f.trust != nil && f.trust(env) != nil {
			it.Untrusted = true
		} else {
			it.Event, it.Err = Decode(env)
		}
		select {
		case f.ch <- it:
		case <-ctx.Done():
			f.fail(fmt.Errorf("read the log at %d: %w", next-1, ctx.Err()))
			return
		}
	}
}

func (f *feed) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

// next blocks until at least one event is there, then returns up to max
// consecutive events, waiting for more only while catching up with the
// head the feed started with.
func (f *feed) next(ctx context.Context, max int) ([]Item, error) {
	var first Item
	select {
	case it, ok := <-f.ch:
		if !ok {
			return nil, f.closedErr()
		}
		first = it
	case <-ctx.Done():
		return nil, fmt.Errorf("read the log: %w", ctx.Err())
	}
	// Sized for what is waiting, not for max: a live batch is often a
	// handful of events, and max Items would be half a megabyte each time.
	items := make([]Item, 1, min(max, 1+len(f.ch)))
	items[0] = first
	for len(items) < max {
		select {
		case it, ok := <-f.ch:
			if !ok {
				return items, nil // the error comes with the next call
			}
			items = append(items, it)
			continue
		default:
		}
		if items[len(items)-1].Envelope.Position >= f.catchUpTo {
			return f.gatherLive(ctx, items, max)
		}
		select {
		case it, ok := <-f.ch:
			if !ok {
				return items, nil
			}
			items = append(items, it)
		case <-ctx.Done():
			return nil, fmt.Errorf("read the log: %w", ctx.Err())
		}
	}
	return items, nil
}

// gatherLive adds to a live batch what arrives within the gather delay,
// up to max events, and adapts the delay to how many arrived.
func (f *feed) gatherLive(ctx context.Context, items []Item, max int) ([]Item, error) {
	if f.gather <= 0 {
		return items, nil
	}
	before := len(items)
	t := time.NewTimer(f.gather)
	defer t.Stop()
	defer func() { f.adapt(len(items) - before) }()
	for len(items) < max {
		select {
		case it, ok := <-f.ch:
			if !ok {
				return items, nil
			}
			items = append(items, it)
		case <-t.C:
			return items, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("read the log: %w", ctx.Err())
		}
	}
	return items, nil
}

// adapt sets the next gather delay from how many events arrived during
// the last one.
func (f *feed) adapt(arrived int) {
	switch {
	case arrived >= gatherGrowAt:
		f.gather = min(2*f.gather, f.gatherMax)
	case arrived < gatherShrinkAt:
		f.gather = max(f.gather/2, f.gatherMin)
	}
}

func (f *feed) closedErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		return errors.New("read the log: feed closed")
	}
	return f.err
}

// close stops the feed and waits for its goroutine.
func (f *feed) close() {
	f.cancel()
	<-f.done
}
