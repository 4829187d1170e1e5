package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
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
	stream := eventstore.Stream(companyCategory, siren.String())
	for draw := 0; ; draw++ {
		number, err := h.reserve(ctx, stream)
		if err != nil {
			return views.LoanRequestView{}, fmt.Errorf("record State decision on %s: %w", in.RequestID, err)
		}
		out, err := h.repo.Update(ctx, siren, Change{Meta: meta, BeforeAppend: number.beforeAppend,
			Decide: func(c *domain.Company, now time.Time) ([]domain.Event, error) {
				return c.RecordStateDecision(domain.RecordStateDecision{
					RequestID: in.RequestID, Approved: in.Approved, DecreeRef: in.DecreeRef, Number: number.number, By: meta.Actor,
				}, now)
			}})
		if drawAgain(err, draw, false) {
			continue
		}
		if err != nil {
			return views.LoanRequestView{}, fmt.Errorf("record State decision on %s: %w", in.RequestID, err)
		}
		v, _ := views.Request(in.RequestID, out.Events, out.Decoded)
		return v, nil
	}
}
