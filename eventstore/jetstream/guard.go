package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// DefaultGuardInterval is how often the store checks that the ledger
// stream is still the one it opened (Config.GuardInterval).
const DefaultGuardInterval = 2 * time.Second

// guard tells the ledger stream this store opened from any other that
// takes its place while the process runs: a cluster replaced by an empty
// one, a stream deleted and created again, a single server restarted on a
// lost disk. The server cannot tell (a new stream takes appends as
// willingly as the old one); the store does, two ways:
//
//   - every stream has a creation time, the same on every node of a
//     cluster; the guard compares it with the one seen at Open, and the
//     stream's last sequence with the highest position this process has
//     seen, every GuardInterval;
//   - every append must land above every position this process saw before
//     sending it (a message seen is in the stream already): one that lands
//     at or below was written into another stream, and is not acknowledged.
//
// While the guard is tripped, appends fail at once and subscriptions
// deliver nothing, with eventstore.ErrWrongStore (503 Service Unavailable
// for the API's callers); it resets by itself when the right stream is
// back (the same creation time, not behind).
type guard struct {
	created time.Time
	high    atomic.Uint64 // the highest position seen in the stream
	log     *slog.Logger

	mu     sync.Mutex
	broken error
}

func newGuard(info *njs.StreamInfo, log *slog.Logger) *guard {
	g := &guard{created: info.Created, log: log}
	g.observe(info.State.LastSeq)
	return g
}

// observe records that position pos exists in the stream.
func (g *guard) observe(pos uint64) {
	for {
		h := g.high.Load()
		if pos <= h || g.high.CompareAndSwap(h, pos) {
			return
		}
	}
}

// floor is the highest position seen so far: an append sent now must land
// above it.
func (g *guard) floor() uint64 { return g.high.Load() }

// landed checks an append acknowledged from position first on, sent when
// the floor was floor.
func (g *guard) landed(first, floor uint64) error {
	if first > floor {
		return nil
	}
	return g.trip(fmt.Errorf("%w: an append landed at position %d, but this process had already seen position %d in the ledger stream: the stream was replaced or set back; the append is not acknowledged",
		eventstore.ErrWrongStore, first, floor))
}

// err is why the guard is tripped, or nil.
func (g *guard) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.broken
}

func (g *guard) trip(err error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken == nil {
		g.log.Error("EVENT STORE REPLACED: refusing appends and deliveries until the ledger's stream is back", "err", err)
	}
	g.broken = err
	return err
}

// inspect judges the stream as the server describes it now (info, or the
// error of asking; floor read before asking).
func (g *guard) inspect(info *njs.StreamInfo, err error, floor uint64) {
	switch {
	case errors.Is(err, njs.ErrStreamNotFound):
		g.trip(fmt.Errorf("%w: the ledger stream %s no longer exists on the server (this process has seen it up to position %d)",
			eventstore.ErrWrongStore, StreamName, floor))
	case err != nil:
		// Unreachable: appends and reads say so themselves.
	case !info.Created.Equal(g.created):
		g.trip(fmt.Errorf("%w: the ledger stream %s was created at %s, but this process opened the one created at %s",
			eventstore.ErrWrongStore, StreamName, info.Created.UTC().Format(time.RFC3339Nano), g.created.UTC().Format(time.RFC3339Nano)))
	case info.State.LastSeq < floor:
		g.trip(fmt.Errorf("%w: the ledger stream %s ends at position %d, but this process has seen position %d",
			eventstore.ErrWrongStore, StreamName, info.State.LastSeq, floor))
	default:
		g.observe(info.State.LastSeq)
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.broken != nil {
			g.log.Warn("event store: the ledger's stream is back; appends and deliveries resume", "stream", StreamName, "last_position", info.State.LastSeq)
			g.broken = nil
		}
	}
}

// watch checks the stream every interval until ctx ends.
func (s *Store) watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.checkStream(ctx)
	}
}

// checkStream asks the server for the ledger stream's description and lets
// the guard judge it.
func (s *Store) checkStream(ctx context.Context) {
	floor := s.guard.floor()
	rctx, cancel := s.requestContext(ctx)
	defer cancel()
	st, err := s.js.Stream(rctx, StreamName)
	if ctx.Err() != nil {
		return
	}
	var info *njs.StreamInfo
	if err == nil {
		info = st.CachedInfo()
	}
	s.guard.inspect(info, err, floor)
}

// Replaced reports why the store refuses to append and deliver (the stream
// answering is not the one this process opened), or nil.
func (s *Store) Replaced() error { return s.guard.err() }
