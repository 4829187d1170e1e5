package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// CancelAttestation is a company's or bank's cancellation.
type CancelAttestation struct {
	Number domain.AttestationNumber
	Reason string
}

// CancelAttestation cancels an issued attestation and returns its view.
func (h *Commands) CancelAttestation(ctx context.Context, meta Meta, in CancelAttestation) (projections.AttestationView, error) {
	siren, err := h.companyOfAttestation(ctx, in.Number)
	if err != nil {
		return projections.AttestationView{}, fmt.Errorf("cancel attestation %s: %w", in.Number, err)
	}
	out, err := h.execute(ctx, siren, meta, func(l loaded, now time.Time) ([]domain.Event, error) {
		return l.company.CancelAttestation(domain.CancelAttestation{Number: in.Number, Reason: in.Reason, By: meta.Actor}, now)
	})
	if err != nil {
		return projections.AttestationView{}, fmt.Errorf("cancel attestation %s: %w", in.Number, err)
	}
	return attestationView(out, in.Number), nil
}
