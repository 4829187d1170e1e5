// Package jetstream is the event store on NATS JetStream: an embedded
// nats-server (the default, its store in a data directory) or an external
// server or cluster.
//
// All events live in one JetStream stream, LEDGER, one subject per event
// store stream ("company-732829320" is "ledger.company.732829320"). An
// event's position is its stream sequence, its version is in the
// Ledger-Version header, and its ID is the message ID the server
// deduplicates on. Appends are acknowledged only once durable: the
// embedded server syncs every write to disk, and Open warns loudly when it
// cannot confirm that an external server does.
//
// Appends are group-committed: concurrent appends go to the server together
// as one JetStream atomic batch (ADR-50), which the server makes durable
// with one fsync, all or nothing. Each stream's first message in a batch
// carries the expected last subject sequence, which the server checks. A
// conflict on one stream does not fail the others: an expectation the
// store's cache of stream versions already shows stale is refused before
// publishing, appends to a stream with a batch in flight wait for the next
// batch, and a batch the server refuses is split until the refused append
// stands alone, while the others commit.
//
// The server applies an atomic batch to the stream one message at a time,
// and shows each to the stream's info and consumers as it is stored: Head
// and ReadAll stop at the last position the leader's message get shows,
// which is isolated from a batch being applied, so they never end inside
// an append (an append whose caller gave up may still be applied after
// Append returned).
package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// maxAttempts bounds the rounds of one Append through the group commit
// (stale cache entries, batches refused because of other appends).
const maxAttempts = 10

// Store is the JetStream event store. It is safe for concurrent use.
type Store struct {
	cfg    Config
	log    *slog.Logger
	ns     *server.Server // nil with an external server
	nc     *nats.Conn
	js     njs.JetStream
	stream njs.Stream
	cache  *stateCache
	commit *committer
	// directSubject is where direct gets of the ledger stream are asked.
	directSubject string
	guard         *guard
	epoch         *epoch
	stopWatch     context.CancelFunc

	mu     sync.Mutex
	closed bool
	subs   map[*subscription]struct{}
}

var _ eventstore.Store = (*Store)(nil)

// Open starts the embedded server (or connects to cfg.URL), creates or
// checks the ledger stream and starts the group commit.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	s := &Store{
		cfg: cfg, log: cfg.Logger, cache: newStateCache(cfg.CachedStreams), subs: make(map[*subscription]struct{}),
		directSubject: njs.DefaultAPIPrefix + "DIRECT.GET." + StreamName,
	}
	ok := false
	defer func() {
		if !ok {
			s.shutdown()
		}
	}()
	if cfg.URL == "" {
		ns, err := startEmbedded(&s.cfg)
		if err != nil {
			return nil, fmt.Errorf("open event store: %w", err)
		}
		s.ns = ns
	}
	s.epoch = newEpoch()
	nc, err := connect(&s.cfg, s.ns, s.epoch.lost)
	if err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	s.nc = nc
	if s.js, err = njs.New(nc, njs.WithDefaultTimeout(cfg.RequestTimeout)); err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if s.stream, err = ensureStream(ctx, s.js, &s.cfg); err != nil {
		return nil, fmt.Errorf("open event store: %w", unavailable(err))
	}
	if s.ns == nil {
		if err := checkExternalSync(ctx, nc, &s.cfg, s.stream.CachedInfo().Config.Replicas); err != nil {
			return nil, fmt.Errorf("open event store: %w", err)
		}
	}
	s.guard = newGuard(s.stream.CachedInfo(), s.log)
	s.commit = newCommitter(s.js, s.cache, s.guard, s.epoch, &s.cfg)
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopWatch = stop
	go s.watch(wctx, s.cfg.GuardInterval)
	ok = true
	return s, nil
}

// Close stops the group commit (waiting appends fail with
// eventstore.ErrClosed), ends the subscriptions, closes the connection and
// shuts the embedded server down. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	subs := s.subs
	s.subs = nil
	s.mu.Unlock()
	if s.stopWatch != nil {
		s.stopWatch()
	}
	if s.commit != nil {
		s.commit.close()
	}
	if s.epoch != nil {
		s.epoch.stop()
	}
	for sub := range subs {
		sub.stop()
	}
	s.shutdown()
	return nil
}

func (s *Store) shutdown() {
	if s.nc != nil {
		s.nc.Close()
	}
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// fail turns an I/O failure into the error an operation returns: the
// caller's context error when ctx ended, eventstore.ErrClosed when the
// store was closed, otherwise the port's sentinel for the failure.
func (s *Store) fail(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && (errors.Is(err, ctxErr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return ctxErr
	}
	if s.isClosed() && !errors.Is(err, eventstore.ErrClosed) {
		return fmt.Errorf("%w: %w", eventstore.ErrClosed, err)
	}
	return translate(unavailable(err))
}

// Append implements eventstore.Store. It returns once the events are on
// disk (or, on a replicated stream, on a quorum). Retries of appends with
// an exact expected version (or NoStream) are recognised at any time;
// retries of Any appends, and the reuse of an event ID by another append,
// within Config.DuplicateWindow.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	res, err := s.append(ctx, stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	return res, nil
}

func (s *Store) append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []eventstore.NewEvent) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if s.isClosed() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.guard.err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	r := &appendReq{ctx: ctx, stream: stream, subject: Subject(stream), expected: expected, events: make([]encoded, len(events))}
	for i, e := range events {
		enc, err := encode(e)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		r.events[i] = enc
		r.size += len(enc.payload) + len(r.subject) + 64
	}
	var last error
	for attempt := range maxAttempts {
		if attempt > 0 && last != nil {
			// Back off a little when the server pushed back.
			select {
			case <-time.After(time.Duration(attempt) * time.Millisecond):
			case <-ctx.Done():
				return eventstore.AppendResult{}, ctx.Err()
			}
		}
		st, known := s.cache.get(stream)
		if !known {
			var err error
			if st, err = s.refresh(ctx, stream); err != nil {
				return eventstore.AppendResult{}, err
			}
		}
		if v, cond := expected.Version(); cond && v != st.version && (v < st.version || !known) {
			return s.conflict(ctx, stream, expected, r.events, st)
		}
		r.done = make(chan outcome, 1)
		out, err := s.commit.submit(ctx, r)
		if err != nil {
			return eventstore.AppendResult{}, s.fail(ctx, err)
		}
		switch out.kind {
		case committed:
			return out.res, nil
		case conflict:
			return s.conflict(ctx, stream, expected, r.events, out.state)
		case duplicate:
			return s.original(ctx, stream, r.events)
		case failed:
			return eventstore.AppendResult{}, s.fail(ctx, out.err)
		case retry:
			last = out.err
			if out.err == nil {
				// A stale or missing cache entry: ask the server.
				s.cache.forget(stream)
			}
		}
	}
	if last == nil {
		last = errors.New("too many attempts")
	}
	return eventstore.AppendResult{}, fmt.Errorf("%w: gave up after %d attempts: %w", eventstore.ErrUnavailable, maxAttempts, last)
}

// refresh reads a stream's state from the server into the cache.
func (s *Store) refresh(ctx context.Context, stream string) (streamState, error) {
	st, err := s.leaderLastState(ctx, stream)
	if err != nil {
		return streamState{}, err
	}
	s.cache.put(stream, st)
	return st, nil
}

// requestContext bounds a request by Config.RequestTimeout unless ctx
// already has a deadline.
func (s *Store) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.cfg.RequestTimeout)
}

// conflict answers an append whose stream is not at the expected version:
// the original result when the append was made before (a retry), else
// ErrConcurrency.
func (s *Store) conflict(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events []encoded, st streamState) (eventstore.AppendResult, error) {
	v, _ := expected.Version()
	if st.version > v {
		recorded, err := s.leaderReadStream(ctx, stream, v+1, len(events))
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if res, ok := sameEvents(recorded, events); ok {
			return res, nil
		}
	}
	return eventstore.AppendResult{}, fmt.Errorf("%w: expected %s, stream is at version %d", eventstore.ErrConcurrency, expected, st.version)
}

// original finds the earlier append of events in stream, after the server
// refused them as duplicates.
func (s *Store) original(ctx context.Context, stream string, events []encoded) (eventstore.AppendResult, error) {
	recorded, err := s.leaderReadStream(ctx, stream, 1, 0)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	for i := range recorded {
		if recorded[i].ID == events[0].event.ID {
			if res, ok := sameEvents(recorded[i:], events); ok {
				return res, nil
			}
			break
		}
	}
	return eventstore.AppendResult{}, fmt.Errorf("%w: event ids already recorded by another append", eventstore.ErrInvalidEvent)
}

// sameEvents reports whether recorded starts with events (by ID), and the
// result of their append if so.
func sameEvents(recorded []eventstore.Envelope, events []encoded) (eventstore.AppendResult, bool) {
	if len(recorded) < len(events) {
		return eventstore.AppendResult{}, false
	}
	for i := range events {
		if recorded[i].ID != events[i].event.ID {
			return eventstore.AppendResult{}, false
		}
	}
	envs := recorded[:len(events):len(events)]
	last := envs[len(envs)-1]
	return eventstore.AppendResult{Events: envs, Version: last.Version, Position: last.Position}, true
}

// Head implements eventstore.Store. The head is always the end of a whole
// append (see leaderHead).
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := s.ready(ctx); err != nil {
		return 0, fmt.Errorf("read head: %w", err)
	}
	head, err := s.leaderHead(ctx)
	if err != nil {
		return 0, fmt.Errorf("read head: %w", err)
	}
	s.guard.observe(head)
	return head, nil
}

func (s *Store) ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return eventstore.ErrClosed
	}
	return nil
}
