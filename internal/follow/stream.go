package follow

import (
	"context"
	"fmt"
	"sync"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Stream is the part of the log one consumer receives: every event after
// its checkpoint, in the store's order. Its methods are for the consumer's
// goroutine alone.
//
// Events pass in batches: the reader appends each event to a bounded
// queue, and the consumer takes the whole queue at once, so that neither
// side wakes the other for every event.
type Stream struct {
	from uint64
	f    *follower
	max  int

	mu     sync.Mutex // guards queue and closed
	queue  []eventstore.Envelope
	closed bool
	// ready holds a token while the queue is not empty or the stream
	// ended; room, when the consumer took the queue (the reader may wait
	// for it).
	ready, room chan struct{}

	// taken is the batch the consumer is going through, at next.
	taken []eventstore.Envelope
	next  int
}

// closedChan is always ready.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func newStream(f *follower, from uint64, max int) *Stream {
	return &Stream{from: from, f: f, max: max, ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// Ready returns a channel that is ready when Next would return without
// waiting (an event, or the end of the stream), for a consumer to select
// on with its timers.
func (s *Stream) Ready() <-chan struct{} {
	if s.next < len(s.taken) {
		return closedChan
	}
	return s.ready
}

// Next returns the next event, waiting for it; it fails when the stream
// ended (with Err) or ctx is done.
func (s *Stream) Next(ctx context.Context) (eventstore.Envelope, error) {
	for s.next == len(s.taken) {
		if err := s.take(ctx); err != nil {
			return eventstore.Envelope{}, err
		}
	}
	env := s.taken[s.next]
	s.taken[s.next] = eventstore.Envelope{} // let it go once handled
	s.next++
	return env, nil
}

// take waits for the queue to hold events and takes them all.
func (s *Stream) take(ctx context.Context) error {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			s.taken, s.queue, s.next = s.queue, s.taken[:0], 0
			if !s.closed {
				drain(s.ready)
			}
			s.mu.Unlock()
			signal(s.room)
			return nil
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return s.f.reason()
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return fmt.Errorf("next event: %w", ctx.Err())
		}
	}
}

// push queues env, waiting while the queue is full; false if ctx ended
// first.
func (s *Stream) push(ctx context.Context, env eventstore.Envelope) bool {
	for {
		s.mu.Lock()
		if len(s.queue) < s.max {
			s.queue = append(s.queue, env)
			if len(s.queue) == 1 {
				signal(s.ready)
			}
			s.mu.Unlock()
			return true
		}
		s.mu.Unlock()
		select {
		case <-s.room:
		case <-ctx.Done():
			return false
		}
	}
}

// close ends the stream once the consumer has taken what is queued.
func (s *Stream) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	signal(s.ready)
}

// signal leaves a token in c unless one is there.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// drain takes the token out of c, if any.
func drain(c chan struct{}) {
	select {
	case <-c:
	default:
	}
}
