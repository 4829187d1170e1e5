package handlers

import (
	"context"
	"fmt"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Index is the store's index of attestation numbers: the company stream
// each number was claimed for, before the append that issues it.
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

// companyOfAttestation returns the SIREN an attestation belongs to: from
// the attestation index, or from the read models for an attestation the
// index does not know (one issued before the index existed). The company
// found may not hold the attestation (its request ended without one):
// the domain then answers not found.
func (h *Commands) companyOfAttestation(ctx context.Context, n domain.AttestationNumber) (domain.SIREN, error) {
	stream, found, err := h.index.Lookup(ctx, n.String())
	if err != nil {
		return domain.SIREN{}, err
	}
	if !found {
		return h.lookup.CompanyOfAttestation(ctx, n)
	}
	category, id := eventstore.SplitStream(stream)
	siren, err := domain.ParseSIREN(id)
	if category != companyCategory || err != nil {
		return domain.SIREN{}, fmt.Errorf("attestation index: number %s points to %q, not a company stream", n, stream)
	}
	return siren, nil
}

// companyCategory is the category of the company streams
// (domain.Company.Stream).
const companyCategory = "company"
