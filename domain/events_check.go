package domain

import (
	"errors"
	"fmt"
	"slices"
)

// check methods reject decoded event data that lacks what every recorded
// event of its type has: a corrupt or foreign event must not decode into
// zero values silently.

var errIncomplete = errors.New("incomplete event data")

func missing(field string) error {
	return fmt.Errorf("%w: %s is missing or invalid", errIncomplete, field)
}

func (e LoanRequestSubmitted) check() error {
	switch {
	case e.RequestID == "":
		return missing("requestId")
	case e.SIREN.IsZero():
		return missing("siren")
	case e.BankCode.s == "":
		return missing("bankCode")
	case e.Amount <= 0 || e.Amount > MaxCents:
		return missing("amountCents")
	case e.RequestedOn.IsZero():
		return missing("requestedOn")
	}
	if err := e.Company.checkRecorded("company."); err != nil {
		return fmt.Errorf("%w: %v", errIncomplete, err)
	}
	return nil
}

func (e LoanRequestAssessed) check() error {
	switch {
	case e.RequestID == "":
		return missing("requestId")
	case !slices.Contains([]string{OutcomeEligible, OutcomeRejected, OutcomePendingStateReview}, e.Outcome):
		return missing("outcome")
	case e.RulesVersion == "":
		return missing("rulesVersion")
	}
	return nil
}

func (e StateDecisionRecorded) check() error {
	switch {
	case e.RequestID == "":
		return missing("requestId")
	case e.Outcome != OutcomeAttested && e.Outcome != OutcomeRejected:
		return missing("outcome")
	case e.RulesVersion == "":
		return missing("rulesVersion")
	}
	return nil
}

func (e AttestationIssued) check() error {
	switch {
	case e.Number.IsZero():
		return missing("number")
	case e.RequestID == "":
		return missing("requestId")
	case e.SIREN.IsZero():
		return missing("siren")
	case e.BankCode.s == "":
		return missing("bankCode")
	case e.Amount <= 0 || e.Amount > MaxCents:
		return missing("amountCents")
	case e.IssuedAt.IsZero():
		return missing("issuedAt")
	}
	return nil
}

func (e LoanGranted) check() error {
	switch {
	case e.Number.IsZero():
		return missing("number")
	case e.GrantedAmount <= 0 || e.GrantedAmount > MaxCents:
		return missing("grantedAmountCents")
	case e.GrantedOn.IsZero():
		return missing("grantedOn")
	case e.DurationMonths < MinDurationMonths || e.DurationMonths > MaxDurationMonths:
		return missing("durationMonths")
	}
	return nil
}

func (e AttestationCancelled) check() error {
	switch {
	case e.Number.IsZero():
		return missing("number")
	case e.CancelledAt.IsZero():
		return missing("cancelledAt")
	}
	return nil
}
