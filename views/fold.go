package views

import (
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Request folds a company's events (envs and their decoded events, oldest
// first) into the view of one request, and reports whether any concerned
// it.
func Request(id string, envs []eventstore.Envelope, events []domain.Event) (LoanRequestView, bool) {
	v := LoanRequestView{RequestID: id}
	found := false
	for i, env := range envs {
		if v.Apply(env, events[i]) {
			found = true
		}
	}
	return v, found
}

// Attestation folds a company's events (envs and their decoded events,
// oldest first) into the view of one attestation, and reports whether any
// concerned it.
func Attestation(number domain.AttestationNumber, envs []eventstore.Envelope, events []domain.Event) (AttestationView, bool) {
	v := AttestationView{Number: number.String()}
	found := false
	for i, env := range envs {
		if v.Apply(env, events[i]) {
			found = true
		}
	}
	return v, found
}
