package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// SubmitLoanRequest is a loan request as the transport decoded it; the
// handler adds the request id and the attestation number.
type SubmitLoanRequest struct {
	SIREN       domain.SIREN
	Bank        domain.BankCode
	Amount      domain.Cents
	RequestedOn domain.Date
	Profile     domain.CompanyProfile
}

// SubmitLoanRequest records a loan request and its outcome (attested,
// rejected or pending State review) and returns its view.
func (h *Commands) SubmitLoanRequest(ctx context.Context, meta Meta, in SubmitLoanRequest) (views.LoanRequestView, error) {
	var requestID string
	out, err := h.issuing(ctx, in.SIREN, meta, true, func(c *domain.Company, now time.Time, n domain.AttestationNumber) ([]domain.Event, error) {
		requestID = ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()
		return c.SubmitLoanRequest(domain.SubmitLoanRequest{
			RequestID: requestID, SIREN: in.SIREN, Bank: in.Bank, Amount: in.Amount,
			RequestedOn: in.RequestedOn, Profile: in.Profile, Number: n, By: meta.Actor,
		}, now)
	})
	if err != nil {
		return views.LoanRequestView{}, fmt.Errorf("submit loan request for %s: %w", in.SIREN, err)
	}
	if out.Replayed {
		sub, ok := out.FirstEvent.(domain.LoanRequestSubmitted)
		if !ok {
			return views.LoanRequestView{}, fmt.Errorf("%w: idempotency key used for another command", ErrIdempotencyMismatch)
		}
		requestID = sub.RequestID
	}
	v, _ := views.Request(requestID, out.Events, out.Decoded)
	return v, nil
}
