// Package memstore is an in-memory eventstore.Store for fast unit tests of
// the layers above the store. It keeps nothing on disk: never use it where
// durability matters. It passes the same contract suite as the real
// backends (eventstore/storetest).
package memstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Store is an in-memory event store, safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	log     []eventstore.Envelope // log[i] has position i+1
	streams map[string][]uint64   // stream -> positions, in version order
	ids     map[string]uint64     // event id -> position
	changed chan struct{}         // closed and replaced on every append
	closed  bool
}

var _ eventstore.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		streams: make(map[string][]uint64),
		ids:     make(map[string]uint64),
		changed: make(chan struct{}),
	}
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	envs := make([]eventstore.Envelope, len(events))
	for i, e := range events {
		envs[i] = eventstore.Envelope{
			Stream:        stream,
			Type:          e.Type,
			SchemaVersion: e.SchemaVersion,
			ID:            e.ID,
			OccurredAt:    e.OccurredAt.UTC(),
			Actor:         e.Actor,
			CorrelationID: e.CorrelationID,
			CausationID:   e.CausationID,
			Provenance:    e.Provenance,
		}
		var data bytes.Buffer
		if err := json.Compact(&data, e.Data); err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w: event %s: %v", stream, eventstore.ErrInvalidEvent, e.ID, err)
		}
		envs[i].Data = data.Bytes()
		b, err := json.Marshal(envs[i])
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: encode event %s: %w", stream, e.ID, err)
		}
		if len(b) > eventstore.MaxEventSize {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w: event %s encodes to %d bytes, at most %d",
				stream, eventstore.ErrEventTooLarge, e.ID, len(b), eventstore.MaxEventSize)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, eventstore.ErrClosed)
	}
	if res, found, err := s.original(stream, events); found || err != nil {
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
		}
		return res, nil
	}
	current := uint64(len(s.streams[stream]))
	if !expected.Matches(current) {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w: expected %s, stream is at version %d",
			stream, eventstore.ErrConcurrency, expected, current)
	}
	for i := range envs {
		envs[i].Version = current + uint64(i) + 1
		envs[i].Position = uint64(len(s.log)) + 1
		s.log = append(s.log, envs[i])
		s.streams[stream] = append(s.streams[stream], envs[i].Position)
		s.ids[envs[i].ID] = envs[i].Position
	}
	close(s.changed)
	s.changed = make(chan struct{})
	last := envs[len(envs)-1]
	return eventstore.AppendResult{Events: cloneEnvelopes(envs), Version: last.Version, Position: last.Position}, nil
}

// original finds an earlier append of the same events: found is true when
// every event ID is already recorded, consecutively, in stream. Event IDs
// recorded otherwise are an error. s.mu must be held.
func (s *Store) original(stream string, events []eventstore.NewEvent) (eventstore.AppendResult, bool, error) {
	known := 0
	for _, e := range events {
		if _, ok := s.ids[e.ID]; ok {
			known++
		}
	}
	if known == 0 {
		return eventstore.AppendResult{}, false, nil
	}
	if known == len(events) && s.log[s.ids[events[0].ID]-1].Stream == stream {
		first := s.log[s.ids[events[0].ID]-1]
		positions := s.streams[stream]
		envs := make([]eventstore.Envelope, 0, len(events))
		for i, e := range events {
			v := first.Version + uint64(i)
			if v > uint64(len(positions)) || s.log[positions[v-1]-1].ID != e.ID {
				break
			}
			envs = append(envs, s.log[positions[v-1]-1])
		}
		if len(envs) == len(events) {
			last := envs[len(envs)-1]
			return eventstore.AppendResult{Events: cloneEnvelopes(envs), Version: last.Version, Position: last.Position}, true, nil
		}
	}
	return eventstore.AppendResult{}, false, fmt.Errorf("%w: event ids already recorded by another append", eventstore.ErrInvalidEvent)
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64) ([]eventstore.Envelope, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	if err := eventstore.ValidateStream(stream); err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("read stream %s: %w", stream, eventstore.ErrClosed)
	}
	positions := s.streams[stream]
	from = max(from, 1)
	if from > uint64(len(positions)) {
		return nil, nil
	}
	out := make([]eventstore.Envelope, 0, uint64(len(positions))-from+1)
	for _, p := range positions[from-1:] {
		out = append(out, s.log[p-1])
	}
	return cloneEnvelopes(out), nil
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, from uint64, limit int) ([]eventstore.Envelope, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read log from %d: %w", from, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("read log from %d: %w", from, eventstore.ErrClosed)
	}
	from = max(from, 1)
	if limit <= 0 || from > uint64(len(s.log)) {
		return nil, nil
	}
	end := min(uint64(len(s.log)), from-1+uint64(limit))
	return cloneEnvelopes(s.log[from-1 : end]), nil
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("read head: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("read head: %w", eventstore.ErrClosed)
	}
	return uint64(len(s.log)), nil
}

// Subscribe implements eventstore.Store.
func (s *Store) Subscribe(ctx context.Context, from uint64) (eventstore.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subscribe from %d: %w", from, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("subscribe from %d: %w", from, eventstore.ErrClosed)
	}
	return &subscription{store: s, next: max(from, 1), done: make(chan struct{})}, nil
}

// Close implements eventstore.Store. Open subscriptions then fail with
// eventstore.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.changed)
	}
	return nil
}

type subscription struct {
	store     *Store
	next      uint64
	closeOnce sync.Once
	done      chan struct{}
}

// Next implements eventstore.Subscription.
func (sub *subscription) Next(ctx context.Context) (eventstore.Envelope, error) {
	for {
		select {
		case <-sub.done:
			return eventstore.Envelope{}, fmt.Errorf("next event: %w", eventstore.ErrClosed)
		default:
		}
		s := sub.store
		s.mu.Lock()
		if sub.next <= uint64(len(s.log)) {
			e := cloneEnvelopes(s.log[sub.next-1 : sub.next])[0]
			sub.next++
			s.mu.Unlock()
			return e, nil
		}
		if s.closed {
			s.mu.Unlock()
			return eventstore.Envelope{}, fmt.Errorf("next event: %w", eventstore.ErrClosed)
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-sub.done:
		case <-ctx.Done():
			return eventstore.Envelope{}, fmt.Errorf("next event: %w", ctx.Err())
		}
	}
}

// Close implements eventstore.Subscription.
func (sub *subscription) Close() error {
	sub.closeOnce.Do(func() { close(sub.done) })
	return nil
}

func cloneEnvelopes(in []eventstore.Envelope) []eventstore.Envelope {
	out := slices.Clone(in)
	for i := range out {
		out[i].Data = slices.Clone(out[i].Data)
	}
	return out
}
