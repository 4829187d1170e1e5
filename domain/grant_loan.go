package domain

import "time"

// Loan durations (DOMAIN.md §2): at least 12 months of deferral, then 1 to 5
// extra years; at most 6 years in all.
const (
	MinDurationMonths = 12
	MaxDurationMonths = 72
)

// GrantLoan records that the owner bank granted the loan.
type GrantLoan struct {
	// Number is required.
	Number AttestationNumber
	// Amount is required: from 1 cent to the attested amount.
	Amount Cents
	// GrantedOn is required: the business date of the grant, not before
	// the request's.
	GrantedOn Date
	// DurationMonths is required: 12 to 72.
	DurationMonths int
	// By is the bank granting; it must own the attestation.
	By Actor
}

// GrantLoan decides on a grant. Errors: ErrNotFound for an unknown number or
// another bank's attestation, ErrInvalid for an amount outside 1..attested,
// a duration outside 12..72 or a date before the request's, ErrConflict
// unless the attestation is issued.
func (c *Company) GrantLoan(cmd GrantLoan, now time.Time) ([]Event, error) {
	a, ok := c.attestations[cmd.Number.String()]
	if !ok || cmd.By.Role != RoleBank || cmd.By.ID != a.Bank.String() {
		return nil, notFoundf("attestation %s", cmd.Number)
	}
	var v validator
	if cmd.Amount <= 0 || cmd.Amount > a.Amount {
		v.add("grantedAmountCents", "must be from 1 to the attested %d cents", a.Amount)
	}
	if cmd.DurationMonths < MinDurationMonths || cmd.DurationMonths > MaxDurationMonths {
		v.add("durationMonths", "must be from %d to %d months", MinDurationMonths, MaxDurationMonths)
	}
	if cmd.GrantedOn.IsZero() {
		v.add("grantedOn", "is required")
	} else if r := c.requests[a.RequestID]; cmd.GrantedOn.Before(r.RequestedOn) {
		v.add("grantedOn", "must not be before the request's date %s", r.RequestedOn)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if a.Status != AttestationIssuedStatus {
		return nil, conflictf("attestation %s is %s, not %s", a.Number, a.Status, AttestationIssuedStatus)
	}
	return []Event{LoanGranted{
		Number: a.Number, GrantedAmount: cmd.Amount, GrantedOn: cmd.GrantedOn,
		DurationMonths: cmd.DurationMonths, GrantedBy: cmd.By, GrantedAt: now.UTC(),
	}}, nil
}
