package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// Lookup is the part of the read models the command handlers need: which
// company a request or an attestation belongs to.
type Lookup interface {
	LoanRequest(ctx context.Context, id string) (projections.LoanRequestView, error)
	Attestation(ctx context.Context, number string) (projections.AttestationView, error)
	// WaitForPosition blocks until the read models have applied pos.
	WaitForPosition(ctx context.Context, pos uint64) error
}

// catchUpTimeout bounds how long a command waits for the read models to
// catch up with the log's head when they do not know a number yet.
const catchUpTimeout = 5 * time.Second

// FindFresh runs find and, if the read models do not know the row, waits
// until they have applied the log's current head and tries once more: a
// number issued before this call is then always found.
func FindFresh[T any](ctx context.Context, store eventstore.Store, lookup Lookup, find func(context.Context) (T, error)) (T, error) {
	v, err := find(ctx)
	if !errors.Is(err, projections.ErrNotFound) {
		return v, err
	}
	head, err := store.Head(ctx)
	if err != nil {
		return v, fmt.Errorf("read log head: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	if err := lookup.WaitForPosition(wctx, head); err != nil {
		return v, fmt.Errorf("wait for read models: %w", err)
	}
	return find(ctx)
}

// companyOfAttestation returns the SIREN an attestation belongs to.
func (h *Commands) companyOfAttestation(ctx context.Context, n domain.AttestationNumber) (domain.SIREN, error) {
	v, err := FindFresh(ctx, h.store, h.lookup, func(ctx context.Context) (projections.AttestationView, error) {
		return h.lookup.Attestation(ctx, n.String())
	})
	if errors.Is(err, projections.ErrNotFound) {
		return domain.SIREN{}, fmt.Errorf("%w: attestation %s", domain.ErrNotFound, n)
	}
	if err != nil {
		return domain.SIREN{}, err
	}
	return domain.ParseSIREN(v.SIREN)
}

// companyOfRequest returns the SIREN a loan request belongs to.
func (h *Commands) companyOfRequest(ctx context.Context, id string) (domain.SIREN, error) {
	v, err := FindFresh(ctx, h.store, h.lookup, func(ctx context.Context) (projections.LoanRequestView, error) {
		return h.lookup.LoanRequest(ctx, id)
	})
	if errors.Is(err, projections.ErrNotFound) {
		return domain.SIREN{}, fmt.Errorf("%w: loan request %s", domain.ErrNotFound, id)
	}
	if err != nil {
		return domain.SIREN{}, err
	}
	return domain.ParseSIREN(v.SIREN)
}
