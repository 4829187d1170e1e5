package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// GrantLoan is a bank's grant of the loan under an attestation.
type GrantLoan struct {
	Number         domain.AttestationNumber
	Amount         domain.Cents
	GrantedOn      domain.Date
	DurationMonths int
}

// GrantLoan records the grant and returns the attestation's view.
func (h *Commands) GrantLoan(ctx context.Context, meta Meta, in GrantLoan) (views.AttestationView, error) {
	out, err := h.onAttestation(ctx, in.Number, meta, func(c *domain.Company, now time.Time) ([]domain.Event, error) {
		return c.GrantLoan(domain.GrantLoan{
			Number: in.Number, Amount: in.Amount, GrantedOn: in.GrantedOn, DurationMonths: in.DurationMonths, By: meta.Actor,
		}, now)
	})
	if err != nil {
		return views.AttestationView{}, fmt.Errorf("grant loan on %s: %w", in.Number, err)
	}
	v, _ := views.Attestation(in.Number, out.Events, out.Decoded)
	return v, nil
}
