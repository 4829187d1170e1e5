package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// RecordStateDecision is an admin's record of the State's decision.
type RecordStateDecision struct {
	RequestID string
	Approved  bool
	DecreeRef string
}

// RecordStateDecision records the State's decision on a request pending
// State review and returns the request's view.
func (h *Commands) RecordStateDecision(ctx context.Context, meta Meta, in RecordStateDecision) (projections.LoanRequestView, error) {
	siren, err := h.companyOfRequest(ctx, in.RequestID)
	if err != nil {
		return projections.LoanRequestView{}, fmt.Errorf("record State decision on %s: %w", in.RequestID, err)
	}
	out, err := h.execute(ctx, siren, meta, func(l loaded, now time.Time) ([]domain.Event, error) {
		n, err := domain.GenerateAttestationNumber(h.cfg.Entropy)
		if err != nil {
			return nil, err
		}
		return l.company.RecordStateDecision(domain.RecordStateDecision{
			RequestID: in.RequestID, Approved: in.Approved, DecreeRef: in.DecreeRef, Number: n, By: meta.Actor,
		}, now)
	})
	if err != nil {
		return projections.LoanRequestView{}, fmt.Errorf("record State decision on %s: %w", in.RequestID, err)
	}
	return requestView(out, in.RequestID), nil
}
