package domain

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event is a fact recorded in a company's stream.
type Event interface {
	// EventType returns the stable dotted wire name.
	EventType() string
	// EventSchemaVersion returns the version of the event's data schema.
	EventSchemaVersion() int
}

// Wire names of the events, all in one place.
//
// WARNING: wire names are a persisted contract: never rename one; change a
// schema by adding a version and an upcaster in DecodeEvent.
const (
	TypeLoanRequestSubmitted  = "loan_request.submitted"
	TypeLoanRequestAssessed   = "loan_request.assessed"
	TypeStateDecisionRecorded = "loan_request.state_decision_recorded"
	TypeAttestationIssued     = "attestation.issued"
	TypeLoanGranted           = "attestation.loan_granted"
	TypeAttestationCancelled  = "attestation.cancelled"
)

// LoanRequestSubmitted: a company, or its bank on its behalf, asked for an
// attestation.
type LoanRequestSubmitted struct {
	RequestID   string         `json:"requestId"`
	SIREN       SIREN          `json:"siren"`
	BankCode    BankCode       `json:"bankCode"`
	Amount      Cents          `json:"amountCents"`
	RequestedOn Date           `json:"requestedOn"`
	Company     CompanyProfile `json:"company"`
	SubmittedBy Actor          `json:"submittedBy"`
	SubmittedAt time.Time      `json:"submittedAt"`
}

// Outcomes of an assessment or a State decision.
//
// WARNING: persisted values.
const (
	OutcomeEligible           = "eligible"
	OutcomeRejected           = "rejected"
	OutcomePendingStateReview = "pending_state_review"
	OutcomeAttested           = "attested"
)

// LoanRequestAssessed: the request's eligibility was assessed under a rule
// set. Outcome is eligible (an attestation.issued follows in the same
// append), rejected (with reasons) or pending_state_review (large company).
type LoanRequestAssessed struct {
	RequestID             string       `json:"requestId"`
	Outcome               string       `json:"outcome"`
	RulesVersion          string       `json:"rulesVersion"`
	Reasons               []Reason     `json:"reasons"`
	SizeCategory          SizeCategory `json:"sizeCategory"`
	CeilingCents          Cents        `json:"ceilingCents"`
	RemainingCeilingCents Cents        `json:"remainingCeilingCents"`
	GuaranteeRateBps      BasisPoints  `json:"guaranteeRateBps"`
	FeeScheduleBps        FeeSchedule  `json:"feeScheduleBps"`
}

// StateDecisionRecorded: an admin recorded the State's decision on a large
// company's request. Outcome is attested (an attestation.issued follows in
// the same append) or rejected: refused by the State, or approved but the
// other rules no longer held when the decision was recorded (Reasons).
type StateDecisionRecorded struct {
	RequestID    string   `json:"requestId"`
	Approved     bool     `json:"approved"`
	DecreeRef    string   `json:"decreeRef,omitempty"`
	Outcome      string   `json:"outcome"`
	RulesVersion string   `json:"rulesVersion"`
	Reasons      []Reason `json:"reasons"`
	// CeilingCents and RemainingCeilingCents are as reassessed at decision
	// time, before this request's attestation.
	CeilingCents          Cents     `json:"ceilingCents"`
	RemainingCeilingCents Cents     `json:"remainingCeilingCents"`
	DecidedBy             Actor     `json:"decidedBy"`
	DecidedAt             time.Time `json:"decidedAt"`
}

// AttestationIssued: an attestation was issued for a request.
type AttestationIssued struct {
	Number           AttestationNumber `json:"number"`
	RequestID        string            `json:"requestId"`
	SIREN            SIREN             `json:"siren"`
	CompanyName      string            `json:"companyName"`
	BankCode         BankCode          `json:"bankCode"`
	Amount           Cents             `json:"amountCents"`
	GuaranteeRateBps BasisPoints       `json:"guaranteeRateBps"`
	FeeScheduleBps   FeeSchedule       `json:"feeScheduleBps"`
	DecreeRef        string            `json:"decreeRef,omitempty"`
	IssuedAt         time.Time         `json:"issuedAt"`
}

// LoanGranted: the bank granted the loan under the attestation.
type LoanGranted struct {
	Number         AttestationNumber `json:"number"`
	GrantedAmount  Cents             `json:"grantedAmountCents"`
	GrantedOn      Date              `json:"grantedOn"`
	DurationMonths int               `json:"durationMonths"`
	GrantedBy      Actor             `json:"grantedBy"`
	GrantedAt      time.Time         `json:"grantedAt"`
}

// AttestationCancelled: the company or its bank cancelled the attestation
// before the grant; its amount no longer counts against the ceiling.
type AttestationCancelled struct {
	Number      AttestationNumber `json:"number"`
	Reason      string            `json:"reason"`
	CancelledBy Actor             `json:"cancelledBy"`
	CancelledAt time.Time         `json:"cancelledAt"`
}

// EventType implements Event.
func (LoanRequestSubmitted) EventType() string { return TypeLoanRequestSubmitted }

// EventType implements Event.
func (LoanRequestAssessed) EventType() string { return TypeLoanRequestAssessed }

// EventType implements Event.
func (StateDecisionRecorded) EventType() string { return TypeStateDecisionRecorded }

// EventType implements Event.
func (AttestationIssued) EventType() string { return TypeAttestationIssued }

// EventType implements Event.
func (LoanGranted) EventType() string { return TypeLoanGranted }

// EventType implements Event.
func (AttestationCancelled) EventType() string { return TypeAttestationCancelled }

// EventSchemaVersion implements Event.
func (LoanRequestSubmitted) EventSchemaVersion() int { return 1 }

// EventSchemaVersion implements Event.
func (LoanRequestAssessed) EventSchemaVersion() int { return 1 }

// EventSchemaVersion implements Event.
func (StateDecisionRecorded) EventSchemaVersion() int { return 1 }

// EventSchemaVersion implements Event.
func (AttestationIssued) EventSchemaVersion() int { return 1 }

// EventSchemaVersion implements Event.
func (LoanGranted) EventSchemaVersion() int { return 1 }

// EventSchemaVersion implements Event.
func (AttestationCancelled) EventSchemaVersion() int { return 1 }

// eventDecoders makes an empty event for each (wire name, schema version).
var eventDecoders = map[string]map[int]func() Event{
	TypeLoanRequestSubmitted:  {1: func() Event { return &LoanRequestSubmitted{} }},
	TypeLoanRequestAssessed:   {1: func() Event { return &LoanRequestAssessed{} }},
	TypeStateDecisionRecorded: {1: func() Event { return &StateDecisionRecorded{} }},
	TypeAttestationIssued:     {1: func() Event { return &AttestationIssued{} }},
	TypeLoanGranted:           {1: func() Event { return &LoanGranted{} }},
	TypeAttestationCancelled:  {1: func() Event { return &AttestationCancelled{} }},
}

// EventTypes returns every wire name the domain records.
func EventTypes() []string {
	return []string{TypeLoanRequestSubmitted, TypeLoanRequestAssessed, TypeStateDecisionRecorded,
		TypeAttestationIssued, TypeLoanGranted, TypeAttestationCancelled}
}

// DecodeEvent decodes recorded event data of a wire name and schema version
// into its current Go type (upcasting older versions).
func DecodeEvent(wireType string, schemaVersion int, data []byte) (Event, error) {
	versions, ok := eventDecoders[wireType]
	if !ok {
		return nil, fmt.Errorf("decode event: unknown type %q", wireType)
	}
	newEvent, ok := versions[schemaVersion]
	if !ok {
		return nil, fmt.Errorf("decode event %s: unknown schema version %d", wireType, schemaVersion)
	}
	ptr := newEvent()
	if err := json.Unmarshal(data, ptr); err != nil {
		return nil, fmt.Errorf("decode event %s v%d: %w", wireType, schemaVersion, err)
	}
	e := deref(ptr)
	if err := e.(interface{ check() error }).check(); err != nil {
		return nil, fmt.Errorf("decode event %s v%d: %w", wireType, schemaVersion, err)
	}
	return e, nil
}

// EncodeEvent encodes an event's data as JSON.
func EncodeEvent(e Event) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.EventType(), err)
	}
	return b, nil
}

// deref turns the pointer a decoder filled into the event value.
func deref(e Event) Event {
	switch v := e.(type) {
	case *LoanRequestSubmitted:
		return *v
	case *LoanRequestAssessed:
		return *v
	case *StateDecisionRecorded:
		return *v
	case *AttestationIssued:
		return *v
	case *LoanGranted:
		return *v
	case *AttestationCancelled:
		return *v
	}
	return e
}
