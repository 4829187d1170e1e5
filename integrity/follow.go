package integrity

import (
	"context"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/follow"
)

// ConsumerName names the log among the consumers of a follower.
const ConsumerName = "integrity"

// Run follows the event store: from the tree's size + 1, it appends every
// event as the next leaf (in durable batches of up to Config.BatchSize),
// and publishes a consistency-checked checkpoint at most every
// Config.CheckpointInterval while the log grows (and at start, if the tree
// holds leaves no checkpoint covers). It is Consumer on a follower of its
// own; the service shares one follower with the read models instead.
//
// Run returns ctx's error once ctx is done, or the first failure: the store
// failing, a gap or duplicate in the log (ErrOutOfOrder), a write failing,
// or the tree not extending the latest checkpoint (ErrInconsistent, an
// integrity alarm). Restarting Run resumes where the tree stopped.
func (l *Log) Run(ctx context.Context, store eventstore.Store) error {
	if err := follow.Run(ctx, store, follow.Options{Buffer: l.cfg.BatchSize}, l.Consumer()); err != nil {
		return err
	}
	return ctx.Err()
}

// Consumer returns the log as a consumer of a log follower (see Run for
// what it does with the events). Its checkpoint is the tree's size.
func (l *Log) Consumer() follow.Consumer { return consumer{l} }

type consumer struct{ l *Log }

// Name implements follow.Consumer.
func (consumer) Name() string { return ConsumerName }

// Checkpoint implements follow.Consumer: it first publishes a checkpoint
// of leaves the latest one does not cover (ErrInconsistent if the tree
// does not extend it).
func (c consumer) Checkpoint(ctx context.Context) (uint64, error) {
	if _, err := c.l.Checkpoint(ctx); err != nil {
		return 0, err
	}
	size, _ := c.l.Size()
	return uint64(size), nil
}

// Consume implements follow.Consumer: it appends the events to the tree in
// batches and publishes checkpoints on schedule.
func (c consumer) Consume(ctx context.Context, in *follow.Stream) error {
	s := &schedule{l: c.l, interval: c.l.cfg.CheckpointInterval}
	defer s.stop()
	defer c.l.startSharing(ctx)()
	batch := make([]eventstore.Envelope, 0, c.l.cfg.BatchSize)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.due():
			if err := s.publish(ctx); err != nil {
				return err
			}
		case <-in.Ready():
			env, err := in.Next(ctx)
			if err != nil {
				return err
			}
			if batch, err = gather(ctx, in, append(batch[:0], env), s.gatherFor(c.l.cfg.CommitDelay)); err != nil {
				return err
			}
			if _, err := c.l.Append(ctx, batch...); err != nil {
				return err
			}
			if err := s.grown(ctx); err != nil {
				return err
			}
		}
	}
}

// gather adds to batch what arrives within wait, up to a full batch: each
// commit costs fsyncs that would otherwise compete with the store's own,
// event after event.
func gather(ctx context.Context, in *follow.Stream, batch []eventstore.Envelope, wait time.Duration) ([]eventstore.Envelope, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for len(batch) < cap(batch) {
		select {
		case <-in.Ready():
			env, err := in.Next(ctx)
			if err != nil {
				return batch, nil // the stream's end shows at the next read
			}
			batch = append(batch, env)
		case <-t.C:
			return batch, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return batch, nil
}

// schedule publishes checkpoints at most every interval while the tree
// grows.
type schedule struct {
	l        *Log
	interval time.Duration
	// last is when a checkpoint was last published.
	last  time.Time
	timer *time.Timer
	// c fires when a publication is due; nil when none is.
	c <-chan time.Time
}

// due returns what fires when a publication is due.
func (s *schedule) due() <-chan time.Time { return s.c }

// gatherFor returns how long a batch may wait for more events: delay, but
// never past the next publication's due time, so that a checkpoint covers
// what arrived up to it.
func (s *schedule) gatherFor(delay time.Duration) time.Duration {
	return max(min(delay, s.interval-time.Since(s.last)), time.Nanosecond)
}

// grown publishes a checkpoint after the tree grew, now if the interval
// has passed since the last one, or else when it will have.
func (s *schedule) grown(ctx context.Context) error {
	if s.c != nil {
		return nil // a publication is already due
	}
	wait := s.interval - time.Since(s.last)
	if wait <= 0 {
		return s.publish(ctx)
	}
	s.arm(wait)
	return nil
}

// publish publishes a checkpoint of the tree.
func (s *schedule) publish(ctx context.Context) error {
	s.c = nil
	before, _ := s.l.Latest()
	c, err := s.l.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("publish a checkpoint: %w", err)
	}
	if c.Size != before.Size {
		s.last = time.Now()
	}
	if size, _ := s.l.Size(); size > c.Size {
		// Not published (another instance holds the lease): try again in
		// an interval, so that the tree is covered even if it stops
		// growing, by the holder or by this instance once it takes over.
		s.arm(s.interval)
	}
	return nil
}

// arm makes a publication due after wait.
func (s *schedule) arm(wait time.Duration) {
	if s.timer == nil {
		s.timer = time.NewTimer(wait)
	} else {
		s.timer.Reset(wait)
	}
	s.c = s.timer.C
}

func (s *schedule) stop() {
	if s.timer != nil {
		s.timer.Stop()
	}
}
