package domain

import "time"

// RecordStateDecision records the State's decision on a large company's
// request (DOMAIN.md §5).
type RecordStateDecision struct {
	// RequestID is required: a request pending State review.
	RequestID string
	// Approved says whether the Minister's decree grants the guarantee.
	Approved bool
	// DecreeRef is required when Approved: the decree's reference.
	DecreeRef string
	// Number is required when Approved: a fresh attestation number.
	Number AttestationNumber
	// By is the admin recording the decision.
	By Actor
}

// Validate checks the command's input.
func (cmd RecordStateDecision) Validate() error {
	var v validator
	if cmd.RequestID == "" {
		v.add("requestId", "is required")
	}
	if cmd.Approved {
		if n := trimmedLen(cmd.DecreeRef); n == 0 || n > maxIDLength {
			v.add("decreeRef", "is required when approved, at most %d bytes", maxIDLength)
		}
		if cmd.Number.IsZero() {
			v.add("number", "a fresh attestation number is required")
		}
	} else if len(cmd.DecreeRef) > maxIDLength {
		v.add("decreeRef", "must be at most %d bytes", maxIDLength)
	}
	if trimmedLen(cmd.DecreeRef) > 0 {
		v.check("decreeRef", checkFreeText(cmd.DecreeRef))
	}
	return v.err()
}

// RecordStateDecision decides on a State decision. An approval issues the
// attestation if the other rules still hold now (the ceiling may have been
// used meanwhile); otherwise, or on a refusal, the request is rejected.
// Errors: ErrInvalid, ErrNotFound for an unknown request, ErrConflict for a
// request not pending State review.
func (c *Company) RecordStateDecision(cmd RecordStateDecision, now time.Time) ([]Event, error) {
	if err := cmd.Validate(); err != nil {
		return nil, err
	}
	r, ok := c.requests[cmd.RequestID]
	if !ok {
		return nil, notFoundf("request %s", cmd.RequestID)
	}
	if r.Status != RequestPendingStateReview {
		return nil, conflictf("request %s is %s, not %s", r.ID, r.Status, RequestPendingStateReview)
	}
	if cmd.Approved {
		if _, dup := c.attestations[cmd.Number.String()]; dup {
			return nil, conflictf("attestation number %s already used", cmd.Number)
		}
	}
	now = now.UTC()
	count, active := c.Active()
	a := Assess(Application{Profile: r.Profile, Amount: r.Amount, RequestedOn: r.RequestedOn, ActiveCount: count, ActiveAmount: active})
	decided := StateDecisionRecorded{
		RequestID: r.ID, Approved: cmd.Approved, DecreeRef: cmd.DecreeRef, RulesVersion: a.RulesVersion,
		CeilingCents: a.Ceiling, RemainingCeilingCents: a.RemainingCeiling, DecidedBy: cmd.By, DecidedAt: now,
	}
	switch {
	case !cmd.Approved:
		decided.Outcome = OutcomeRejected
		decided.Reasons = []Reason{{Code: ReasonStateRefused, Message: "the State refused the guarantee"}}
		return []Event{decided}, nil
	case !a.Eligible():
		decided.Outcome = OutcomeRejected
		decided.Reasons = a.Reasons
		return []Event{decided}, nil
	}
	decided.Outcome = OutcomeAttested
	decided.Reasons = []Reason{}
	submitted := LoanRequestSubmitted{RequestID: r.ID, SIREN: r.SIREN, BankCode: r.Bank, Amount: r.Amount, Company: r.Profile}
	return []Event{decided, issue(cmd.Number, submitted, a, cmd.DecreeRef, now)}, nil
}
