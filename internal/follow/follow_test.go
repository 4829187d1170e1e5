package follow_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/memstore"
	"github.com/attestation-ledger/attestation-ledger/internal/follow"
)

// fill appends n events to store, one stream per ten.
func fill(t *testing.T, store eventstore.Store, n int) {
	t.Helper()
	head, err := store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		pos := head + uint64(i) + 1
		_, err := store.Append(t.Context(), fmt.Sprintf("company-%d", pos/10), eventstore.Any(), eventstore.NewEvent{
			ID: fmt.Sprintf("ev-%d", pos), Type: "test.happened", SchemaVersion: 1,
			OccurredAt: time.Now(), Data: []byte(fmt.Sprintf(`{"n":%d}`, pos)),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func newStore(t *testing.T, n int) *memstore.Store {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { _ = store.Close() })
	fill(t, store, n)
	return store
}

// recorder is a consumer that keeps what it handled and its checkpoint
// (in memory, surviving from one Run to the next, as a database would).
// Before handling an event it waits for gate, if set; it fails with
// failWith at position failAt, if set.
type recorder struct {
	name string

	mu   sync.Mutex
	cp   uint64
	got  []uint64
	gate chan struct{}
	// failAt and failWith make the consumer fail.
	failAt   uint64
	failWith error
	returned bool
	moved    chan struct{} // closed and replaced when cp moves
}

func newRecorder(name string, cp uint64) *recorder {
	return &recorder{name: name, cp: cp, moved: make(chan struct{})}
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Checkpoint(context.Context) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cp, nil
}

func (r *recorder) Consume(ctx context.Context, in *follow.Stream) error {
	defer func() {
		r.mu.Lock()
		r.returned = true
		r.mu.Unlock()
	}()
	for {
		env, err := in.Next(ctx)
		if err != nil {
			return err
		}
		if r.gate != nil {
			select {
			case <-r.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		r.mu.Lock()
		if r.failWith != nil && env.Position == r.failAt {
			r.mu.Unlock()
			return r.failWith
		}
		r.got = append(r.got, env.Position)
		r.cp = env.Position
		close(r.moved)
		r.moved = make(chan struct{})
		r.mu.Unlock()
	}
}

// waitFor waits until the consumer's checkpoint reaches pos.
func (r *recorder) waitFor(t *testing.T, pos uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		r.mu.Lock()
		cp, moved := r.cp, r.moved
		r.mu.Unlock()
		if cp >= pos {
			return
		}
		select {
		case <-moved:
		case <-ctx.Done():
			t.Fatalf("%s stuck at %d, want %d", r.name, cp, pos)
		}
	}
}

func (r *recorder) positions() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.got...)
}

// checkExactly checks that the consumer handled from..to, in order, each
// once.
func checkExactly(t *testing.T, r *recorder, from, to uint64) {
	t.Helper()
	got := r.positions()
	if uint64(len(got)) != to-from+1 {
		t.Fatalf("%s handled %d events, want %d (%d..%d)", r.name, len(got), to-from+1, from, to)
	}
	for i, p := range got {
		if p != from+uint64(i) {
			t.Fatalf("%s: event %d at position %d, want %d", r.name, i, p, from+uint64(i))
		}
	}
}

// start runs the follower in the background; stop cancels it and returns
// Run's error; wait waits (a minute at most) for Run to return on its own.
func start(t *testing.T, store eventstore.Store, opts follow.Options, cs ...follow.Consumer) (stop, wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = follow.Run(ctx, store, opts, cs...)
	}()
	stop = func() error {
		cancel()
		<-done
		return err
	}
	wait = func() error {
		select {
		case <-done:
			return err
		case <-time.After(time.Minute):
			t.Fatal("Run did not stop")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop, wait
}

// Consumers at different checkpoints each get every event after theirs,
// in order, once, from one read of the log, including events appended
// while the follower runs.
func TestEachConsumerGetsWhatFollowsItsCheckpoint(t *testing.T) {
	store := newStore(t, 300)
	counting := &countingStore{Store: store}
	a, b, c := newRecorder("a", 0), newRecorder("b", 120), newRecorder("c", 300)
	stop, _ := start(t, counting, follow.Options{Buffer: 8}, a, b, c)
	fill(t, store, 200)
	for _, r := range []*recorder{a, b, c} {
		r.waitFor(t, 500)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	checkExactly(t, a, 1, 500)
	checkExactly(t, b, 121, 500)
	checkExactly(t, c, 301, 500)
	if got := counting.subscriptions(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("subscriptions from %v, want one from 1", got)
	}
}

// countingStore is a real store that records where it was subscribed
// from.
type countingStore struct {
	eventstore.Store
	mu   sync.Mutex
	from []uint64
}

func (s *countingStore) Subscribe(ctx context.Context, from uint64) (eventstore.Subscription, error) {
	s.mu.Lock()
	s.from = append(s.from, from)
	s.mu.Unlock()
	return s.Store.Subscribe(ctx, from)
}

func (s *countingStore) subscriptions() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint64(nil), s.from...)
}

// The log is read from the lowest checkpoint: nothing before it.
func TestReadsFromTheLowestCheckpoint(t *testing.T) {
	store := &countingStore{Store: newStore(t, 100)}
	a, b := newRecorder("a", 70), newRecorder("b", 40)
	stop, _ := start(t, store, follow.Options{}, a, b)
	a.waitFor(t, 100)
	b.waitFor(t, 100)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := store.subscriptions(); len(got) != 1 || got[0] != 41 {
		t.Fatalf("subscriptions from %v, want one from 41", got)
	}
	checkExactly(t, a, 71, 100)
	checkExactly(t, b, 41, 100)
}

// A slow consumer slows the reading: the others get at most its position
// plus the buffer ahead of it, and nothing is dropped once it goes on.
func TestASlowConsumerHoldsTheReadBack(t *testing.T) {
	const buffer = 4
	store := newStore(t, 200)
	slow, fast := newRecorder("slow", 0), newRecorder("fast", 0)
	slow.gate = make(chan struct{})
	stop, _ := start(t, store, follow.Options{Buffer: buffer}, fast, slow)
	slow.gate <- struct{}{} // the slow one handles one event, then stalls
	slow.waitFor(t, 1)
	// The reader fills the slow one's stream (the batch it is going
	// through and a full queue: twice the buffer at most) and waits; the
	// fast one is at most one event ahead.
	fast.waitFor(t, 1+buffer)
	time.Sleep(50 * time.Millisecond) // room to run ahead, if it could
	if got := len(fast.positions()); got > 1+2*buffer+1 {
		t.Fatalf("the fast consumer got %d events while the slow one had handled 1 (buffer %d)", got, buffer)
	}
	close(slow.gate)
	slow.waitFor(t, 200)
	fast.waitFor(t, 200)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkExactly(t, slow, 1, 200)
	checkExactly(t, fast, 1, 200)
}

var errBroken = errors.New("broken consumer")

// A consumer failing stops the follower and every other consumer; Run's
// error names it and wraps its cause.
func TestAFailingConsumerStopsTheFollower(t *testing.T) {
	store := newStore(t, 100)
	ok, bad := newRecorder("steady", 0), newRecorder("broken", 0)
	bad.failAt, bad.failWith = 60, errBroken
	_, wait := start(t, store, follow.Options{Buffer: 4}, ok, bad)
	err := wait()
	if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), "consumer broken") {
		t.Fatalf("Run = %v, want the broken consumer's error, named", err)
	}
	for _, r := range []*recorder{ok, bad} {
		r.mu.Lock()
		returned := r.returned
		r.mu.Unlock()
		if !returned {
			t.Fatalf("%s still running after Run returned", r.name)
		}
	}
	checkExactly(t, bad, 1, 59)
}

// A consumer that returns on its own stops the follower with ErrStopped.
func TestAConsumerReturningStopsTheFollower(t *testing.T) {
	store := newStore(t, 10)
	quitter := quitter{}
	err := follow.Run(t.Context(), store, follow.Options{}, newRecorder("a", 0), quitter)
	if !errors.Is(err, follow.ErrStopped) || !strings.Contains(err.Error(), "consumer quitter") {
		t.Fatalf("Run = %v, want ErrStopped naming the consumer", err)
	}
}

type quitter struct{}

func (quitter) Name() string                                  { return "quitter" }
func (quitter) Checkpoint(context.Context) (uint64, error)    { return 0, nil }
func (quitter) Consume(context.Context, *follow.Stream) error { return nil }

// The store failing stops the follower with an error saying where, and
// every consumer's stream ends with it.
func TestTheStoreFailingStopsTheFollower(t *testing.T) {
	store := newStore(t, 50)
	a := newRecorder("a", 0)
	_, wait := start(t, store, follow.Options{}, a)
	a.waitFor(t, 50)
	_ = store.Close()
	err := wait()
	if !errors.Is(err, eventstore.ErrClosed) || !strings.Contains(err.Error(), "position 51") {
		t.Fatalf("Run = %v, want the store's ErrClosed at position 51", err)
	}
}

// Restarting resumes every consumer from its own checkpoint: over
// several runs each sees every event exactly once.
func TestRestartResumesFromCheckpoints(t *testing.T) {
	store := newStore(t, 100)
	a, b := newRecorder("a", 0), newRecorder("b", 30)
	head := uint64(100)
	for round := range 4 {
		stop, _ := start(t, store, follow.Options{Buffer: 16}, a, b)
		fill(t, store, 50)
		head += 50
		a.waitFor(t, head-uint64(round*10)) // stop at varied points
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	stop, _ := start(t, store, follow.Options{}, a, b)
	a.waitFor(t, head)
	b.waitFor(t, head)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkExactly(t, a, 1, head)
	checkExactly(t, b, 31, head)
}

// Once Run is cancelled a consumer's stream ends with the cancellation.
func TestStreamEndsWithTheCancellation(t *testing.T) {
	store := newStore(t, 5)
	var streamErr error
	c := &funcConsumer{consume: func(ctx context.Context, in *follow.Stream) error {
		for {
			if _, err := in.Next(context.WithoutCancel(ctx)); err != nil {
				streamErr = err
				return err
			}
		}
	}}
	stop, _ := start(t, store, follow.Options{}, c)
	time.Sleep(10 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if !errors.Is(streamErr, context.Canceled) {
		t.Fatalf("stream ended with %v, want context.Canceled", streamErr)
	}
}

type funcConsumer struct {
	consume func(context.Context, *follow.Stream) error
}

func (*funcConsumer) Name() string                               { return "func" }
func (*funcConsumer) Checkpoint(context.Context) (uint64, error) { return 0, nil }
func (c *funcConsumer) Consume(ctx context.Context, in *follow.Stream) error {
	return c.consume(ctx, in)
}

// A consumer that cannot say its checkpoint stops Run before it reads.
func TestACheckpointErrorStopsRun(t *testing.T) {
	store := &countingStore{Store: newStore(t, 5)}
	err := follow.Run(t.Context(), store, follow.Options{}, newRecorder("a", 0), badCheckpoint{})
	if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), "consumer bad") {
		t.Fatalf("Run = %v", err)
	}
	if len(store.subscriptions()) != 0 {
		t.Fatal("subscribed although a checkpoint failed")
	}
	if err := follow.Run(t.Context(), store, follow.Options{}); err == nil {
		t.Fatal("Run with no consumer succeeded")
	}
}

type badCheckpoint struct{ quitter }

func (badCheckpoint) Name() string                               { return "bad" }
func (badCheckpoint) Checkpoint(context.Context) (uint64, error) { return 0, errBroken }
