package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/projections"
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

// maxNumberCollisions bounds the retries after drawing an attestation
// number already used by the company (75 random bits: never in practice).
const maxNumberCollisions = 3

// SubmitLoanRequest records a loan request and its outcome (attested,
// rejected or pending State review) and returns its view.
func (h *Commands) SubmitLoanRequest(ctx context.Context, meta Meta, in SubmitLoanRequest) (projections.LoanRequestView, error) {
	var requestID string
	for try := 0; ; try++ {
		out, err := h.execute(ctx, in.SIREN, meta, func(l loaded, now time.Time) ([]domain.Event, error) {
			n, err := domain.GenerateAttestationNumber(h.cfg.Entropy)
			if err != nil {
				return nil, err
			}
			requestID = ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()
			return l.company.SubmitLoanRequest(domain.SubmitLoanRequest{
				RequestID: requestID, SIREN: in.SIREN, Bank: in.Bank, Amount: in.Amount,
				RequestedOn: in.RequestedOn, Profile: in.Profile, Number: n, By: meta.Actor,
			}, now)
		})
		if errors.Is(err, domain.ErrConflict) && try < maxNumberCollisions {
			continue
		}
		if err != nil {
			return projections.LoanRequestView{}, fmt.Errorf("submit loan request for %s: %w", in.SIREN, err)
		}
		if out.Replayed {
			sub, ok := out.FirstEvent.(domain.LoanRequestSubmitted)
			if !ok {
				return projections.LoanRequestView{}, fmt.Errorf("%w: idempotency key used for another command", ErrIdempotencyMismatch)
			}
			requestID = sub.RequestID
		}
		return requestView(out, requestID), nil
	}
}

// requestView folds a stream into the view of one request.
func requestView(out Outcome, requestID string) projections.LoanRequestView {
	v := projections.LoanRequestView{RequestID: requestID}
	for i, env := range out.Events {
		v.Apply(env, out.Decoded[i])
	}
	return v
}

// attestationView folds a stream into the view of one attestation.
func attestationView(out Outcome, n domain.AttestationNumber) projections.AttestationView {
	v := projections.AttestationView{Number: n.String()}
	for i, env := range out.Events {
		v.Apply(env, out.Decoded[i])
	}
	return v
}
