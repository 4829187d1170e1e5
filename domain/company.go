package domain

import (
	"fmt"
	"time"
)

// RequestStatus is the state of a loan request.
//
// WARNING: a persisted and public contract.
type RequestStatus string

// Request statuses.
const (
	RequestAttested           RequestStatus = "attested"
	RequestRejected           RequestStatus = "rejected"
	RequestPendingStateReview RequestStatus = "pending_state_review"
)

// AttestationStatus is the state of an attestation.
//
// WARNING: a persisted and public contract.
type AttestationStatus string

// Attestation statuses.
const (
	AttestationIssuedStatus    AttestationStatus = "issued"
	AttestationGrantedStatus   AttestationStatus = "loan_granted"
	AttestationCancelledStatus AttestationStatus = "cancelled"
)

// LoanRequest is a loan request as the company's events tell it.
type LoanRequest struct {
	ID          string
	SIREN       SIREN
	Bank        BankCode
	Amount      Cents
	RequestedOn Date
	Profile     CompanyProfile
	SubmittedBy Actor
	SubmittedAt time.Time
	Status      RequestStatus
	// Reasons are why the request was rejected, or sent to the State.
	Reasons      []Reason
	RulesVersion string
	SizeCategory SizeCategory
	// Ceiling and RemainingCeiling are as assessed: the ceiling, and what
	// remained of it after this request's attestation, if any.
	Ceiling          Cents
	RemainingCeiling Cents
	GuaranteeRate    BasisPoints
	Fees             FeeSchedule
	Attestation      AttestationNumber
	DecreeRef        string
}

// Attestation is an attestation as the company's events tell it.
type Attestation struct {
	Number         AttestationNumber
	RequestID      string
	SIREN          SIREN
	Bank           BankCode
	Amount         Cents
	GuaranteeRate  BasisPoints
	Fees           FeeSchedule
	DecreeRef      string
	Status         AttestationStatus
	IssuedAt       time.Time
	GrantedAmount  Cents
	GrantedOn      Date
	DurationMonths int
	GrantedAt      time.Time
	CancelledAt    time.Time
	CancelReason   string
	CancelledBy    Actor
}

// Active reports whether the attestation counts against the ceiling
// (issued or granted, not cancelled).
func (a Attestation) Active() bool { return a.Status != AttestationCancelledStatus }

// Company is the aggregate of one company (one SIREN): its requests and
// attestations across all banks. It is the consistency boundary of the
// ceiling: every decision about the company is taken on its whole state and
// appended with the expected version of its stream.
type Company struct {
	siren   SIREN
	version uint64
	// profile is the first attested request's (nil until then).
	profile      *CompanyProfile
	requests     map[string]*LoanRequest
	requestIDs   []string
	attestations map[string]*Attestation
	numbers      []string
}

// NewCompany returns the empty aggregate of a company with no events yet.
func NewCompany(siren SIREN) *Company {
	return &Company{
		siren:        siren,
		requests:     map[string]*LoanRequest{},
		attestations: map[string]*Attestation{},
	}
}

// RebuildCompany returns the aggregate rebuilt from its events, oldest
// first.
func RebuildCompany(siren SIREN, events []Event) (*Company, error) {
	c := NewCompany(siren)
	for _, e := range events {
		if err := c.Apply(e); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Stream returns the name of the company's event stream.
//
// WARNING: a persisted contract.
func (c *Company) Stream() string { return "company-" + c.siren.String() }

// SIREN returns the company's SIREN.
func (c *Company) SIREN() SIREN { return c.siren }

// Version returns the number of events applied, the version the next
// append expects.
func (c *Company) Version() uint64 { return c.version }

// Profile returns the company's profile, and false while it has none: the
// profile declared by its first attested request. A later request, and
// above all a rejected one (which anyone may submit, with any figures),
// never changes it: each request keeps its own declared profile, which only
// its own assessment uses.
func (c *Company) Profile() (CompanyProfile, bool) {
	if c.profile == nil {
		return CompanyProfile{}, false
	}
	return c.profile.clone(), true
}

// Request returns a copy of a request, and false if unknown.
func (c *Company) Request(id string) (LoanRequest, bool) {
	r, ok := c.requests[id]
	if !ok {
		return LoanRequest{}, false
	}
	cp := *r
	cp.Reasons = append([]Reason(nil), r.Reasons...)
	cp.Profile = r.Profile.clone()
	return cp, true
}

// Requests returns copies of every request, oldest first.
func (c *Company) Requests() []LoanRequest {
	out := make([]LoanRequest, 0, len(c.requestIDs))
	for _, id := range c.requestIDs {
		r, _ := c.Request(id)
		out = append(out, r)
	}
	return out
}

// Attestation returns a copy of an attestation, and false if unknown.
func (c *Company) Attestation(n AttestationNumber) (Attestation, bool) {
	a, ok := c.attestations[n.String()]
	if !ok {
		return Attestation{}, false
	}
	return *a, true
}

// Attestations returns copies of every attestation, oldest first.
func (c *Company) Attestations() []Attestation {
	out := make([]Attestation, 0, len(c.numbers))
	for _, n := range c.numbers {
		out = append(out, *c.attestations[n])
	}
	return out
}

// Active returns how many attestations count against the ceiling and their
// total amount.
func (c *Company) Active() (count int, amount Cents) {
	for _, a := range c.attestations {
		if a.Active() {
			count++
			amount += a.Amount
		}
	}
	return count, amount
}

// Ceiling returns the company's ceiling under its profile (the first
// attested request's; 0 while it has none).
func (c *Company) Ceiling() Cents {
	if c.profile == nil {
		return 0
	}
	return Ceiling(*c.profile)
}

// Apply folds one recorded event into the state. It fails only on an event
// that cannot follow the state (a corrupt or foreign stream).
func (c *Company) Apply(e Event) error {
	if err := c.apply(e); err != nil {
		return fmt.Errorf("company %s: apply %s at version %d: %w", c.siren, e.EventType(), c.version+1, err)
	}
	c.version++
	return nil
}

func (c *Company) apply(e Event) error {
	switch e := e.(type) {
	case LoanRequestSubmitted:
		if e.SIREN != c.siren {
			return fmt.Errorf("event is for SIREN %s", e.SIREN)
		}
		if _, dup := c.requests[e.RequestID]; dup {
			return fmt.Errorf("request %s submitted twice", e.RequestID)
		}
		c.requests[e.RequestID] = &LoanRequest{
			ID: e.RequestID, SIREN: e.SIREN, Bank: e.BankCode, Amount: e.Amount,
			RequestedOn: e.RequestedOn, Profile: e.Company.clone(), SubmittedBy: e.SubmittedBy,
			SubmittedAt: e.SubmittedAt,
		}
		c.requestIDs = append(c.requestIDs, e.RequestID)
	case LoanRequestAssessed:
		r, ok := c.requests[e.RequestID]
		if !ok {
			return fmt.Errorf("unknown request %s", e.RequestID)
		}
		r.RulesVersion, r.Reasons, r.SizeCategory = e.RulesVersion, e.Reasons, e.SizeCategory
		r.Ceiling, r.RemainingCeiling = e.CeilingCents, e.RemainingCeilingCents
		r.GuaranteeRate, r.Fees = e.GuaranteeRateBps, e.FeeScheduleBps
		switch e.Outcome {
		case OutcomeEligible:
			// Attested by the attestation.issued that follows.
		case OutcomeRejected:
			r.Status = RequestRejected
		case OutcomePendingStateReview:
			r.Status = RequestPendingStateReview
		default:
			return fmt.Errorf("unknown outcome %q", e.Outcome)
		}
	case StateDecisionRecorded:
		r, ok := c.requests[e.RequestID]
		if !ok {
			return fmt.Errorf("unknown request %s", e.RequestID)
		}
		if r.Status != RequestPendingStateReview {
			return fmt.Errorf("request %s is %s, not pending", e.RequestID, r.Status)
		}
		r.DecreeRef, r.RulesVersion, r.Reasons = e.DecreeRef, e.RulesVersion, e.Reasons
		r.Ceiling, r.RemainingCeiling = e.CeilingCents, e.RemainingCeilingCents
		switch e.Outcome {
		case OutcomeAttested:
			// Attested by the attestation.issued that follows.
		case OutcomeRejected:
			r.Status = RequestRejected
		default:
			return fmt.Errorf("unknown outcome %q", e.Outcome)
		}
	case AttestationIssued:
		r, ok := c.requests[e.RequestID]
		if !ok {
			return fmt.Errorf("unknown request %s", e.RequestID)
		}
		if _, dup := c.attestations[e.Number.String()]; dup {
			return fmt.Errorf("attestation %s issued twice", e.Number)
		}
		c.attestations[e.Number.String()] = &Attestation{
			Number: e.Number, RequestID: e.RequestID, SIREN: e.SIREN, Bank: e.BankCode,
			Amount: e.Amount, GuaranteeRate: e.GuaranteeRateBps, Fees: e.FeeScheduleBps,
			DecreeRef: e.DecreeRef, Status: AttestationIssuedStatus, IssuedAt: e.IssuedAt,
		}
		c.numbers = append(c.numbers, e.Number.String())
		r.Status, r.Attestation, r.Reasons = RequestAttested, e.Number, nil
		if c.profile == nil {
			p := r.Profile.clone()
			c.profile = &p
		}
		_, active := c.Active()
		r.RemainingCeiling = 0
		if active < r.Ceiling {
			r.RemainingCeiling = r.Ceiling - active
		}
	case LoanGranted:
		a, ok := c.attestations[e.Number.String()]
		if !ok {
			return fmt.Errorf("unknown attestation %s", e.Number)
		}
		a.Status, a.GrantedAmount, a.GrantedOn = AttestationGrantedStatus, e.GrantedAmount, e.GrantedOn
		a.DurationMonths, a.GrantedAt = e.DurationMonths, e.GrantedAt
	case AttestationCancelled:
		a, ok := c.attestations[e.Number.String()]
		if !ok {
			return fmt.Errorf("unknown attestation %s", e.Number)
		}
		a.Status, a.CancelledAt, a.CancelReason, a.CancelledBy = AttestationCancelledStatus, e.CancelledAt, e.Reason, e.CancelledBy
	default:
		return fmt.Errorf("unknown event %T", e)
	}
	return nil
}
