package handlers

import (
	"context"
	"fmt"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// loaded is a company's stream as read: its envelopes, their decoded
// events, and the aggregate rebuilt from them.
type loaded struct {
	company   *domain.Company
	envelopes []eventstore.Envelope
	events    []domain.Event
}

// loadCompany reads a company's stream and rebuilds its aggregate.
func loadCompany(ctx context.Context, store eventstore.Store, siren domain.SIREN) (loaded, error) {
	c := domain.NewCompany(siren)
	envs, err := store.ReadStream(ctx, c.Stream(), 1)
	if err != nil {
		return loaded{}, fmt.Errorf("load company %s: %w", siren, err)
	}
	l := loaded{company: c, envelopes: envs, events: make([]domain.Event, len(envs))}
	for i, env := range envs {
		e, err := projections.Decode(env)
		if err != nil {
			return loaded{}, fmt.Errorf("load company %s: %w", siren, err)
		}
		if err := c.Apply(e); err != nil {
			return loaded{}, fmt.Errorf("load company %s: %w", siren, err)
		}
		l.events[i] = e
	}
	return l, nil
}

// event returns the stream's event with this id, if any.
func (l loaded) event(id string) (eventstore.Envelope, bool) {
	if id == "" {
		return eventstore.Envelope{}, false
	}
	for _, env := range l.envelopes {
		if env.ID == id {
			return env, true
		}
	}
	return eventstore.Envelope{}, false
}
