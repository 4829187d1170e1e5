// Package views holds the views of loan requests and attestations that
// both sides of the ledger answer with, and the one fold that builds them
// from a company's events: the command handlers answer a command with
// them, the projections store them as rows, and the queries rebuild them
// for time travel. It imports only domain and eventstore, so that the
// command side needs nothing of the read side.
package views

import (
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// AttestationSummary is the attestation part of a loan request view.
//
// WARNING: the JSON names are the public contract of docs/API.md.
type AttestationSummary struct {
	Number           string             `json:"number"`
	AmountCents      domain.Cents       `json:"amountCents"`
	GuaranteeRateBps domain.BasisPoints `json:"guaranteeRateBps"`
	FeeScheduleBps   domain.FeeSchedule `json:"feeScheduleBps"`
	IssuedAt         time.Time          `json:"issuedAt"`
}

// LoanRequestView is a loan request and its outcome, the body of
// POST /v1/loan-requests and GET /v1/loan-requests/{id}.
//
// WARNING: the JSON names are the public contract of docs/API.md.
type LoanRequestView struct {
	RequestID             string              `json:"requestId"`
	SIREN                 string              `json:"siren"`
	BankCode              string              `json:"bankCode"`
	CompanyName           string              `json:"companyName"`
	AmountCents           domain.Cents        `json:"amountCents"`
	RequestedOn           string              `json:"requestedOn"`
	Status                string              `json:"status"`
	Reasons               []domain.Reason     `json:"reasons"`
	Attestation           *AttestationSummary `json:"attestation"`
	CeilingCents          domain.Cents        `json:"ceilingCents"`
	RemainingCeilingCents domain.Cents        `json:"remainingCeilingCents"`
	SizeCategory          domain.SizeCategory `json:"sizeCategory"`
	RulesVersion          string              `json:"rulesVersion"`
	DecreeRef             string              `json:"decreeRef,omitempty"`
	SubmittedAt           time.Time           `json:"submittedAt"`
	// Position is the global position of the request's last event.
	Position uint64 `json:"position"`

	// Dimensions of the request for reports, not part of the JSON.
	RegionCode string `json:"-"`
	Section    string `json:"-"`
}

// Apply folds one event of the request's company stream into the view and
// reports whether it concerned the request. The same fold serves the
// command responses, the projector and time travel.
func (v *LoanRequestView) Apply(env eventstore.Envelope, e domain.Event) bool {
	switch e := e.(type) {
	case domain.LoanRequestSubmitted:
		if v.RequestID != "" && v.RequestID != e.RequestID {
			return false
		}
		*v = LoanRequestView{
			RequestID: e.RequestID, SIREN: e.SIREN.String(), BankCode: e.BankCode.String(),
			CompanyName: e.Company.Name, AmountCents: e.Amount, RequestedOn: e.RequestedOn.String(),
			Reasons: []domain.Reason{}, SubmittedAt: e.SubmittedAt,
			SizeCategory: e.Company.SizeCategory(), RegionCode: e.Company.Region.String(),
			Section: string(e.Company.NAF.Section()),
		}
	case domain.LoanRequestAssessed:
		if e.RequestID != v.RequestID {
			return false
		}
		v.RulesVersion, v.SizeCategory = e.RulesVersion, e.SizeCategory
		v.CeilingCents, v.RemainingCeilingCents = e.CeilingCents, e.RemainingCeilingCents
		v.Reasons = nonNil(e.Reasons)
		switch e.Outcome {
		case domain.OutcomeRejected:
			v.Status = string(domain.RequestRejected)
		case domain.OutcomePendingStateReview:
			v.Status = string(domain.RequestPendingStateReview)
		}
	case domain.StateDecisionRecorded:
		if e.RequestID != v.RequestID {
			return false
		}
		v.RulesVersion, v.DecreeRef, v.Reasons = e.RulesVersion, e.DecreeRef, nonNil(e.Reasons)
		v.CeilingCents, v.RemainingCeilingCents = e.CeilingCents, e.RemainingCeilingCents
		if e.Outcome == domain.OutcomeRejected {
			v.Status = string(domain.RequestRejected)
		}
	case domain.AttestationIssued:
		if e.RequestID != v.RequestID {
			return false
		}
		v.Status = string(domain.RequestAttested)
		v.Reasons = []domain.Reason{}
		v.Attestation = &AttestationSummary{
			Number: e.Number.String(), AmountCents: e.Amount, GuaranteeRateBps: e.GuaranteeRateBps,
			FeeScheduleBps: e.FeeScheduleBps, IssuedAt: e.IssuedAt,
		}
		// The assessment recorded what remained before this attestation.
		v.RemainingCeilingCents = max(v.RemainingCeilingCents-e.Amount, 0)
	default:
		return false
	}
	v.Position = env.Position
	return true
}

// nonNil returns rs, or an empty list for nil, so that JSON shows [].
func nonNil(rs []domain.Reason) []domain.Reason {
	if rs == nil {
		return []domain.Reason{}
	}
	return rs
}

// AttestationView is an attestation's current state, the body of
// GET /v1/attestations/{number} and of the grant and cancel responses.
//
// WARNING: the JSON names are the public contract of docs/API.md.
type AttestationView struct {
	Number             string             `json:"number"`
	RequestID          string             `json:"requestId"`
	SIREN              string             `json:"siren"`
	CompanyName        string             `json:"companyName"`
	BankCode           string             `json:"bankCode"`
	AmountCents        domain.Cents       `json:"amountCents"`
	GuaranteeRateBps   domain.BasisPoints `json:"guaranteeRateBps"`
	FeeScheduleBps     domain.FeeSchedule `json:"feeScheduleBps"`
	Status             string             `json:"status"`
	IssuedAt           time.Time          `json:"issuedAt"`
	DecreeRef          string             `json:"decreeRef,omitempty"`
	GrantedAmountCents *domain.Cents      `json:"grantedAmountCents"`
	GrantedOn          *string            `json:"grantedOn"`
	DurationMonths     *int               `json:"durationMonths"`
	CancelledAt        *time.Time         `json:"cancelledAt"`
	CancelReason       *string            `json:"cancelReason"`
	// Position is the global position of the attestation's last event.
	Position uint64 `json:"position"`
}

// Apply folds one event of the attestation's company stream into the view
// and reports whether it concerned the attestation (the first
// attestation.issued seen sets the number when the view is empty).
func (v *AttestationView) Apply(env eventstore.Envelope, e domain.Event) bool {
	switch e := e.(type) {
	case domain.AttestationIssued:
		if v.Number != "" && v.Number != e.Number.String() {
			return false
		}
		*v = AttestationView{
			Number: e.Number.String(), RequestID: e.RequestID, SIREN: e.SIREN.String(),
			CompanyName: e.CompanyName, BankCode: e.BankCode.String(), AmountCents: e.Amount,
			GuaranteeRateBps: e.GuaranteeRateBps, FeeScheduleBps: e.FeeScheduleBps,
			Status: string(domain.AttestationIssuedStatus), IssuedAt: e.IssuedAt, DecreeRef: e.DecreeRef,
		}
	case domain.LoanGranted:
		if e.Number.String() != v.Number {
			return false
		}
		amount, on, months := e.GrantedAmount, e.GrantedOn.String(), e.DurationMonths
		v.Status = string(domain.AttestationGrantedStatus)
		v.GrantedAmountCents, v.GrantedOn, v.DurationMonths = &amount, &on, &months
	case domain.AttestationCancelled:
		if e.Number.String() != v.Number {
			return false
		}
		at, reason := e.CancelledAt, e.Reason
		v.Status = string(domain.AttestationCancelledStatus)
		v.CancelledAt, v.CancelReason = &at, &reason
	default:
		return false
	}
	v.Position = env.Position
	return true
}
