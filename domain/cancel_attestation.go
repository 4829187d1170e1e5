package domain

import "time"

// maxCancelReason bounds the free-text reason of a cancellation.
const maxCancelReason = 500

// CancelAttestation cancels an attestation before the grant.
type CancelAttestation struct {
	// Number is required.
	Number AttestationNumber
	// Reason is optional free text, at most 500 bytes.
	Reason string
	// By is the company (its SIREN) or the owner bank (its code).
	By Actor
}

// CancelAttestation decides on a cancellation; the attestation's amount is
// released from the ceiling. Errors: ErrNotFound for an unknown number or
// one the actor does not own, ErrInvalid for an over-long reason or one
// that the free-text rules refuse, ErrConflict unless the attestation is
// issued.
func (c *Company) CancelAttestation(cmd CancelAttestation, now time.Time) ([]Event, error) {
	a, ok := c.attestations[cmd.Number.String()]
	owner := ok && ((cmd.By.Role == RoleCompany && cmd.By.ID == a.SIREN.String()) ||
		(cmd.By.Role == RoleBank && cmd.By.ID == a.Bank.String()))
	if !owner {
		return nil, notFoundf("attestation %s", cmd.Number)
	}
	if len(cmd.Reason) > maxCancelReason {
		return nil, invalidField("reason", "must be at most %d bytes", maxCancelReason)
	}
	if cmd.Reason != "" {
		if err := checkFreeText(cmd.Reason); err != nil {
			return nil, invalidField("reason", "%s", err)
		}
	}
	if a.Status != AttestationIssuedStatus {
		return nil, conflictf("attestation %s is %s, not %s", a.Number, a.Status, AttestationIssuedStatus)
	}
	return []Event{AttestationCancelled{Number: a.Number, Reason: cmd.Reason, CancelledBy: cmd.By, CancelledAt: now.UTC()}}, nil
}
