package handlers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/internal/provenance"
	"github.com/attestation-ledger/attestation-ledger/views"
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

// Change is what a command does to a company.
type Change struct {
	// Meta is required: who asks, and the idempotency key if any.
	Meta Meta
	// Decide is required: the domain's decision on the company's current
	// state at now. It may run more than once (after a conflict).
	Decide func(c *domain.Company, now time.Time) ([]domain.Event, error)
	// BeforeAppend is optional: it runs after each decision, before its
	// events are appended; an error ends the command with nothing
	// appended.
	BeforeAppend func(ctx context.Context, events []domain.Event) error
}

// Repository loads companies and saves the events decided on them. It owns
// a per-company lock (commands on one company wait for one another in this
// process), a bounded cache of loaded streams, the append with the
// expected version, and the retry after a conflict with another process.
// Safe for concurrent use.
type Repository struct {
	store      eventstore.Store
	keys       Keys
	prov       *provenance.Keyring // nil: events carry no provenance
	now        func() time.Time
	maxRetries int
	locks      locks
	cache      *aggregates
	metrics    *metrics
}

// newRepository returns a repository on store; cached companies is the
// size of its cache (0 or less for none).
func newRepository(store eventstore.Store, keys Keys, prov *provenance.Keyring, now func() time.Time, maxRetries, cached int, m *metrics) *Repository {
	return &Repository{store: store, keys: keys, prov: prov, now: now, maxRetries: maxRetries, cache: newAggregates(cached), metrics: m}
}

// Update runs a change on a company: under the company's lock, it decides
// on the cached or loaded state, appends the events with the expected
// version, and after a conflict reloads and decides again. With an
// idempotency key, a command already in the stream is answered from there
// (Replayed) and decided no more.
func (r *Repository) Update(ctx context.Context, siren domain.SIREN, ch Change) (Outcome, error) {
	c := domain.NewCompany(siren)
	stream := c.Stream()
	defer r.locks.lock(stream)()
	idem := newIdempotency(ch.Meta, stream, r.keys)
	l, cached := r.first(stream, c)
	// A command with a key for a company not in the cache may be a retry
	// (a file sent again after a restart): read the stream first, since
	// an append assumed on an empty stream would fail in the store's
	// group commit and slow the appends batched with it.
	reload := !cached && idem.base != ""
	for attempt := 0; ; attempt++ {
		if attempt > 0 || reload {
			var err error
			if l, err = loadCompany(ctx, r.store, siren, r.prov); err != nil {
				return Outcome{}, err
			}
		}
		if out, done, err := idem.replay(l); done || err != nil {
			if done {
				r.cache.put(stream, l)
			}
			return out, err
		}
		now := r.now().UTC()
		events, err := ch.Decide(l.company, now)
		if err != nil {
			if attempt == 0 && !cached && !reload {
				// Decided on an assumed empty stream: check against the
				// real one before answering.
				continue
			}
			return Outcome{}, err
		}
		if err := idem.claim(ctx); err != nil {
			return Outcome{}, err
		}
		if ch.BeforeAppend != nil {
			if err := ch.BeforeAppend(ctx, events); err != nil {
				return Outcome{}, err
			}
		}
		out, again, err := r.save(ctx, stream, &l, &idem, events, now)
		if !again {
			return out, err
		}
		if err := r.backOff(ctx, stream, attempt); err != nil {
			return Outcome{}, err
		}
	}
}

// first returns the state the first attempt decides on: the cached one,
// or an empty stream for a company not in the cache (c). The append's
// expected version makes either safe, and a conflict reloads from the
// store.
func (r *Repository) first(stream string, c *domain.Company) (l loaded, cached bool) {
	if l, cached = r.cache.get(stream); !cached {
		l = loaded{company: c}
	}
	return l, cached
}

// save appends a decision's events to a stream at l's version and, done,
// extends l and caches it. again reports that the command must be decided
// again on the stream as it is now: a conflict (another process appended),
// or a retry the store recognised (an earlier append of the command, made
// on a stale state).
func (r *Repository) save(ctx context.Context, stream string, l *loaded, idem *idempotency, events []domain.Event, now time.Time) (out Outcome, again bool, err error) {
	cause := idem.causationID(now)
	news, err := newEvents(events, idem.eventIDs(len(events), now), cause, idem.meta, now)
	if err != nil {
		return Outcome{}, false, err
	}
	if r.prov != nil {
		for k := range news {
			r.prov.Sign(stream, l.version+uint64(k)+1, &news[k])
		}
	}
	start := time.Now()
	res, err := r.store.Append(ctx, stream, eventstore.Exact(l.version), news...)
	r.metrics.observeAppend(time.Since(start), err)
	if errors.Is(err, eventstore.ErrConcurrency) {
		r.cache.forget(stream)
		return Outcome{}, true, nil
	}
	if err != nil {
		// The append may or may not have happened (a timeout): the cached
		// state is no longer known.
		r.cache.forget(stream)
		return Outcome{}, false, fmt.Errorf("append to %s: %w", stream, err)
	}
	if res.Events[0].Version != l.version+1 || res.Events[0].CausationID != cause || !res.Events[0].OccurredAt.Equal(now) {
		// The store answered with an earlier append of these event ids:
		// answer from the stream as it is.
		r.cache.forget(stream)
		return Outcome{}, true, nil
	}
	envs := append(l.envelopes[:len(l.envelopes):len(l.envelopes)], res.Events...)
	decoded := append(l.events[:len(l.events):len(l.events)], events...)
	if err := l.extend(res.Events, events); err != nil {
		r.cache.forget(stream)
	} else {
		r.cache.put(stream, *l)
	}
	return Outcome{FirstEvent: events[0], Events: envs, Decoded: decoded, Position: res.Position}, false, nil
}

// backOff ends the command with ErrBusy after too many conflicts and
// otherwise, from the second conflict on (another process appended
// meanwhile), waits a little, with jitter, before deciding again.
func (r *Repository) backOff(ctx context.Context, stream string, attempt int) error {
	if attempt+1 >= r.maxRetries {
		return fmt.Errorf("%w: %d conflicts on %s", ErrBusy, attempt+1, stream)
	}
	if attempt == 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(rand.IntN(1+attempt*2)) * time.Millisecond):
		return nil
	}
}

// newEvents wraps a decision's events for the store.
func newEvents(events []domain.Event, ids []string, cause string, meta Meta, now time.Time) ([]eventstore.NewEvent, error) {
	news := make([]eventstore.NewEvent, len(events))
	for k, e := range events {
		data, err := domain.EncodeEvent(e)
		if err != nil {
			return nil, err
		}
		news[k] = eventstore.NewEvent{
			ID: ids[k], Type: e.EventType(), SchemaVersion: e.EventSchemaVersion(), OccurredAt: now,
			Actor:         eventstore.Actor{Role: string(meta.Actor.Role), ID: meta.Actor.ID},
			CorrelationID: meta.CorrelationID, CausationID: cause, Data: data,
		}
	}
	return news, nil
}

// loaded is a company's stream as read: its trusted envelopes, their
// decoded events, the aggregate rebuilt from them, and the stream's version
// (that of its last event, trusted or not: the next append states it).
type loaded struct {
	company   *domain.Company
	envelopes []eventstore.Envelope
	events    []domain.Event
	version   uint64
}

// loadCompany reads a company's stream and rebuilds its aggregate.
func loadCompany(ctx context.Context, store eventstore.Store, siren domain.SIREN, prov *provenance.Keyring) (loaded, error) {
	envs, err := store.ReadStream(ctx, domain.NewCompany(siren).Stream(), 1)
	if err != nil {
		return loaded{}, fmt.Errorf("load company %s: %w", siren, err)
	}
	l := loaded{envelopes: envs[:0:0], events: make([]domain.Event, 0, len(envs))}
	for _, env := range envs {
		l.version = env.Version
		if prov != nil && prov.Verify(env) != nil {
			// Not written by the command side: evidence in the log, never
			// a fact the company's decisions rest on.
			continue
		}
		e, err := views.Decode(env)
		if err != nil {
			return loaded{}, fmt.Errorf("load company %s: %w", siren, err)
		}
		l.envelopes = append(l.envelopes, env)
		l.events = append(l.events, e)
	}
	if l.company, err = domain.RebuildCompany(siren, l.events); err != nil {
		return loaded{}, fmt.Errorf("load company %s: %w", siren, err)
	}
	return l, nil
}

// event returns the stream's event with this id, if any.
func (l loaded) event(id string) (eventstore.Envelope, bool) {
	for _, env := range l.envelopes {
		if env.ID == id {
			return env, true
		}
	}
	return eventstore.Envelope{}, false
}
