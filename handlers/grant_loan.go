package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// GrantLoan is a bank's grant of the loan under an attestation.
type GrantLoan struct {
	Number         domain.AttestationNumber
	Amount         domain.Cents
	GrantedOn      domain.Date
	DurationMonths int
}

// GrantLoan records the grant and returns the attestation's view.
func (h *Commands) GrantLoan(ctx context.Context, meta Meta, in GrantLoan) (projections.AttestationView, error) {
	siren, err := h.companyOfAttestation(ctx, in.Number)
	if err != nil {
		return projections.AttestationView{}, fmt.Errorf("grant loan on %s: %w", in.Number, err)
	}
	out, err := h.execute(ctx, siren, meta, func(l loaded, now time.Time) ([]domain.Event, error) {
		return l.company.GrantLoan(domain.GrantLoan{
			Number: in.Number, Amount: in.Amount, GrantedOn: in.GrantedOn, DurationMonths: in.DurationMonths, By: meta.Actor,
		}, now)
	})
	if err != nil {
		return projections.AttestationView{}, fmt.Errorf("grant loan on %s: %w", in.Number, err)
	}
	return attestationView(out, in.Number), nil
}
