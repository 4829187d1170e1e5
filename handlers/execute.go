package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Meta is what a command carries besides its data.
type Meta struct {
	// Actor is required: the authenticated caller.
	Actor domain.Actor
	// CorrelationID is optional: the HTTP request id, recorded on events.
	CorrelationID string
	// IdempotencyKey is optional: with it, a retried command appends
	// nothing and answers as the first time.
	IdempotencyKey string
	// RequestHash is required with an IdempotencyKey: a digest of the
	// command's input, so that the key reused with another input is a
	// conflict (ErrIdempotencyMismatch).
	RequestHash string
}

// ErrIdempotencyMismatch: an idempotency key was reused with another input.
var ErrIdempotencyMismatch = errs.NewCode(errs.Conflict, "idempotency-key-reused", "idempotency key already used with a different request")

// Keys is the durable register of idempotency keys. A retry is recognised
// from the company's own stream (its events' ids derive from the key), but
// a key reused for another company's command lands in another stream: the
// register, shared by every process, catches that.
type Keys interface {
	// Claim records fingerprint for key unless the key is known, and
	// returns the fingerprint the key was first claimed with. Concurrent
	// claims of one key: exactly one fingerprint wins. key is made of
	// letters, digits and "-/_=.".
	Claim(ctx context.Context, key, fingerprint string) (first string, err error)
}

// keyID is the register's key for an idempotency key: keys are scoped to
// their caller, and hashed to fit the register's alphabet.
func keyID(meta Meta) string {
	sum := sha256.Sum256([]byte(string(meta.Actor.Role) + "\x00" + meta.Actor.ID + "\x00" + meta.IdempotencyKey))
	return hex.EncodeToString(sum[:])
}

// causationID identifies the command that caused events: with an
// idempotency key, a digest of the key and the input, so that a retry can
// be told from a reuse; otherwise a fresh id.
func causationID(meta Meta, now time.Time) string {
	if meta.IdempotencyKey == "" {
		return "cmd-" + ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()
	}
	sum := sha256.Sum256([]byte(string(meta.Actor.Role) + "\x00" + meta.Actor.ID + "\x00" + meta.IdempotencyKey + "\x00" + meta.RequestHash))
	return "cmd-" + hex.EncodeToString(sum[:16])
}

// Outcome is what a command appended, or found already appended.
type Outcome struct {
	// Events are the stream up to the command's last event, oldest first
	// (for a replay, later events are left out, so that the answer is the
	// original one).
	Events []eventstore.Envelope
	// Decoded are the domain events of Events.
	Decoded []domain.Event
	// Position is the global position of the command's last event.
	Position uint64
	// Replayed is true when an idempotent retry found the command already
	// done.
	Replayed bool
	// FirstEvent is the command's first event.
	FirstEvent domain.Event
}

// ErrBusy: the company's stream kept changing under the command for more
// retries than allowed.
var ErrBusy = errs.New(errs.TooBusy, "too much contention on the company, retry later")

// locks serialises the commands of one company within this process, so
// that contention resolves by waiting rather than by conflict retries;
// optimistic concurrency still guards against other processes. Companies
// never wait for one another.
type locks struct {
	mu      sync.Mutex
	streams map[string]*streamLock
}

type streamLock struct {
	sync.Mutex
	refs int
}

// lock locks a stream and returns its unlock function.
func (l *locks) lock(stream string) (unlock func()) {
	l.mu.Lock()
	if l.streams == nil {
		l.streams = map[string]*streamLock{}
	}
	sl := l.streams[stream]
	if sl == nil {
		sl = &streamLock{}
		l.streams[stream] = sl
	}
	sl.refs++
	l.mu.Unlock()
	sl.Lock()
	return func() {
		sl.Unlock()
		l.mu.Lock()
		if sl.refs--; sl.refs == 0 {
			delete(l.streams, stream)
		}
		l.mu.Unlock()
	}
}

// eventIDs returns the ids of a command's n events on a stream: derived
// from the idempotency key and the stream (so that a retry is recognised,
// and ids stay unique across the log even if a key is reused for another
// company) or fresh ULIDs.
func eventIDs(meta Meta, stream string, n int, now time.Time) []string {
	ids := make([]string, n)
	if meta.IdempotencyKey != "" {
		sum := sha256.Sum256([]byte(string(meta.Actor.Role) + "\x00" + meta.Actor.ID + "\x00" + meta.IdempotencyKey + "\x00" + stream))
		base := "idem-" + hex.EncodeToString(sum[:12])
		for i := range ids {
			ids[i] = fmt.Sprintf("%s-%d", base, i)
		}
		return ids
	}
	for i := range ids {
		ids[i] = ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()
	}
	return ids
}

// execute runs a decision on a company: load its stream, decide, append
// with the expected version, and retry from the load on a conflict.
func (h *Commands) execute(ctx context.Context, siren domain.SIREN, meta Meta, decide func(l loaded, now time.Time) ([]domain.Event, error)) (Outcome, error) {
	stream := domain.NewCompany(siren).Stream()
	defer h.locks.lock(stream)()
	var firstID string
	var now0 time.Time // causationID ignores the time when there is a key
	claimed := false
	if meta.IdempotencyKey != "" {
		firstID = eventIDs(meta, stream, 1, time.Time{})[0]
	}
	// The first attempt decides on the cached state, or on an empty stream
	// for a company not in the cache: the append's expected version makes
	// either safe, and a conflict reloads from the store.
	l, cached := h.cache.get(stream)
	if !cached {
		l = loaded{company: domain.NewCompany(siren)}
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			var err error
			if l, err = loadCompany(ctx, h.store, siren); err != nil {
				return Outcome{}, err
			}
		}
		if first, ok := l.event(firstID); ok {
			if first.CausationID != causationID(meta, now0) {
				return Outcome{}, ErrIdempotencyMismatch
			}
			pos := lastPositionOf(l.envelopes, firstID)
			n, firstAt := 0, 0
			for n < len(l.envelopes) && l.envelopes[n].Position <= pos {
				if l.envelopes[n].ID == firstID {
					firstAt = n
				}
				n++
			}
			h.cache.put(stream, l)
			return Outcome{Events: l.envelopes[:n], Decoded: l.events[:n], Position: pos, Replayed: true, FirstEvent: l.events[firstAt]}, nil
		}
		now := h.now().UTC()
		events, err := decide(l, now)
		if err != nil {
			if attempt == 0 && !cached {
				// Decided on an assumed empty stream: check against the
				// real one before answering.
				continue
			}
			return Outcome{}, err
		}
		if meta.IdempotencyKey != "" && !claimed {
			// Claimed only once the command is about to append: a refused
			// command leaves its key free for a corrected request.
			first, err := h.keys.Claim(ctx, keyID(meta), meta.RequestHash)
			if err != nil {
				return Outcome{}, err
			}
			if first != meta.RequestHash {
				return Outcome{}, ErrIdempotencyMismatch
			}
			claimed = true
		}
		ids := eventIDs(meta, stream, len(events), now)
		cause := causationID(meta, now)
		news := make([]eventstore.NewEvent, len(events))
		for i, e := range events {
			data, err := domain.EncodeEvent(e)
			if err != nil {
				return Outcome{}, err
			}
			news[i] = eventstore.NewEvent{
				ID: ids[i], Type: e.EventType(), SchemaVersion: e.EventSchemaVersion(), OccurredAt: now,
				Actor:         eventstore.Actor{Role: string(meta.Actor.Role), ID: meta.Actor.ID},
				CorrelationID: meta.CorrelationID, CausationID: cause, Data: data,
			}
		}
		start := time.Now()
		res, err := h.store.Append(ctx, stream, eventstore.Exact(l.company.Version()), news...)
		h.metrics.observeAppend(time.Since(start), err)
		if errors.Is(err, eventstore.ErrConcurrency) {
			h.cache.forget(stream)
			if attempt+1 >= h.cfg.MaxConflictRetries {
				return Outcome{}, fmt.Errorf("%w: %d conflicts on %s", ErrBusy, attempt+1, stream)
			}
			if attempt > 0 {
				// Another process appended meanwhile: back off a little,
				// with jitter, and decide again on the new state.
				select {
				case <-ctx.Done():
					return Outcome{}, ctx.Err()
				case <-time.After(time.Duration(rand.IntN(1+attempt*2)) * time.Millisecond):
				}
			}
			continue
		}
		if err != nil {
			// The append may or may not have happened (a timeout): the
			// cached state is no longer known.
			h.cache.forget(stream)
			return Outcome{}, fmt.Errorf("append to %s: %w", stream, err)
		}
		if res.Events[0].Version != l.company.Version()+1 || res.Events[0].CausationID != cause || !res.Events[0].OccurredAt.Equal(now) {
			// The store recognised the event ids of an earlier append (an
			// idempotent retry decided on a stale state) and answered with
			// that append: answer from the stream as it is.
			h.cache.forget(stream)
			continue
		}
		envs := append(l.envelopes[:len(l.envelopes):len(l.envelopes)], res.Events...)
		decoded := append(l.events[:len(l.events):len(l.events)], events...)
		if err := l.extend(res.Events, events); err != nil {
			h.cache.forget(stream)
		} else {
			h.cache.put(stream, l)
		}
		return Outcome{FirstEvent: events[0], Events: envs, Decoded: decoded, Position: res.Position}, nil
	}
}

// lastPositionOf returns the position of the last event of the command
// whose first event has id first (its events share the id's prefix).
func lastPositionOf(envs []eventstore.Envelope, first string) uint64 {
	prefix := first[:len(first)-1]
	var pos uint64
	for _, env := range envs {
		if len(env.ID) > len(prefix) && env.ID[:len(prefix)] == prefix {
			pos = env.Position
		}
	}
	return pos
}
