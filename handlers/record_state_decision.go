package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// RecordStateDecision is an admin's record of the State's decision.
type RecordStateDecision struct {
	RequestID string
	Approved  bool
	DecreeRef string
}

// RecordStateDecision records the State's decision on a request pending
// State review and returns the request's view.
func (h *Commands) RecordStateDecision(ctx context.Context, meta Meta, in RecordStateDecision) (views.LoanRequestView, error) {
	siren, err := h.lookup.CompanyOfRequest(ctx, in.RequestID)
	if err != nil {
		return views.LoanRequestView{}, fmt.Errorf("record State decision on %s: %w", in.RequestID, err)
	}
	out, err := h.issuing(ctx, siren, meta, false, func(c *domain.Company, now time.Time, n domain.AttestationNumber) ([]domain.Event, error) {
		return c.RecordStateDecision(domain.RecordStateDecision{
			RequestID: in.RequestID, Approved: in.Approved, DecreeRef: in.DecreeRef, Number: n, By: meta.Actor,
		}, now)
	})
	if err != nil {
		return views.LoanRequestView{}, fmt.Errorf("record State decision on %s: %w", in.RequestID, err)
	}
	v, _ := views.Request(in.RequestID, out.Events, out.Decoded)
	return v, nil
}
