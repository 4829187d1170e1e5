package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// CancelAttestation is a company's or bank's cancellation.
type CancelAttestation struct {
	Number domain.AttestationNumber
	Reason string
}

// CancelAttestation cancels an issued attestation and returns its view.
func (h *Commands) CancelAttestation(ctx context.Context, meta Meta, in CancelAttestation) (views.AttestationView, error) {
	out, err := h.onAttestation(ctx, in.Number, meta, func(c *domain.Company, now time.Time) ([]domain.Event, error) {
		return c.CancelAttestation(domain.CancelAttestation{Number: in.Number, Reason: in.Reason, By: meta.Actor}, now)
	})
	if err != nil {
		return views.AttestationView{}, fmt.Errorf("cancel attestation %s: %w", in.Number, err)
	}
	v, _ := views.Attestation(in.Number, out.Events, out.Decoded)
	return v, nil
}
