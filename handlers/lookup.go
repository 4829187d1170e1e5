package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Index is the store's index of attestation numbers: the company stream
// each issued number belongs to, written after the append that issues it.
type Index interface {
	// Claim records stream for number unless the number is known, and
	// returns the stream the number was first claimed for.
	Claim(ctx context.Context, number, stream string) (first string, err error)
	// Lookup returns the stream number was claimed for, and false if none.
	Lookup(ctx context.Context, number string) (stream string, found bool, err error)
}

// Lookup is what the command side asks the read side: the company of a
// loan request (state decisions are rare admin commands, not worth an
// index written by every submission), and of an attestation issued before
// the attestation index existed. It answers for anything recorded before
// the call, waiting for the read models if need be, and ErrNotFound (kind
// NotFound) otherwise.
type Lookup interface {
	CompanyOfRequest(ctx context.Context, id string) (domain.SIREN, error)
	CompanyOfAttestation(ctx context.Context, n domain.AttestationNumber) (domain.SIREN, error)
}

// onAttestation runs a change on the company of an attestation, found
// through the attestation index or, for a number the index does not name
// (its entry not written yet, lost, or older than the index), through the
// read models. Should the indexed company not hold the attestation (two
// companies drew the same number), the read models are asked too.
func (h *Commands) onAttestation(ctx context.Context, n domain.AttestationNumber, meta Meta, decide func(*domain.Company, time.Time) ([]domain.Event, error)) (Outcome, error) {
	siren, indexed, err := h.companyOfAttestation(ctx, n)
	if err != nil {
		return Outcome{}, err
	}
	out, err := h.repo.Update(ctx, siren, Change{Meta: meta, Decide: decide})
	if indexed && errors.Is(err, domain.ErrNotFound) {
		other, lerr := h.lookup.CompanyOfAttestation(ctx, n)
		if lerr == nil && other != siren {
			return h.repo.Update(ctx, other, Change{Meta: meta, Decide: decide})
		}
	}
	return out, err
}

// companyOfAttestation returns the SIREN an attestation belongs to, and
// whether the index named it.
func (h *Commands) companyOfAttestation(ctx context.Context, n domain.AttestationNumber) (siren domain.SIREN, indexed bool, err error) {
	stream, found, err := h.index.Lookup(ctx, n.String())
	if err != nil {
		return domain.SIREN{}, false, err
	}
	if !found {
		siren, err := h.lookup.CompanyOfAttestation(ctx, n)
		return siren, false, err
	}
	category, id := eventstore.SplitStream(stream)
	siren, err = domain.ParseSIREN(id)
	if category != companyCategory || err != nil {
		return domain.SIREN{}, false, fmt.Errorf("attestation index: number %s points to %q, not a company stream", n, stream)
	}
	return siren, true, nil
}

// companyCategory is the category of the company streams
// (domain.Company.Stream).
const companyCategory = "company"
