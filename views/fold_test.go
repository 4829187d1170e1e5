package views_test

import (
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// The folds pick one request's or attestation's events out of a company's
// stream, and say when none concerned it.
func TestFolds(t *testing.T) {
	siren, _ := domain.ParseSIREN("732829320")
	bank, _ := domain.ParseBankCode("30004")
	n1 := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{1})
	n2 := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{2})
	at := time.Date(2020, 5, 4, 10, 0, 0, 0, time.UTC)
	naf, _ := domain.ParseNAF("10.71C")
	profile := domain.CompanyProfile{Name: "Boulangerie Martin", NAF: naf}
	events := []domain.Event{
		domain.LoanRequestSubmitted{RequestID: "r1", SIREN: siren, BankCode: bank, Amount: 100, SubmittedAt: at, Company: profile},
		domain.AttestationIssued{Number: n1, RequestID: "r1", SIREN: siren, BankCode: bank, Amount: 100, IssuedAt: at},
		domain.LoanRequestSubmitted{RequestID: "r2", SIREN: siren, BankCode: bank, Amount: 200, SubmittedAt: at, Company: profile},
		domain.AttestationIssued{Number: n2, RequestID: "r2", SIREN: siren, BankCode: bank, Amount: 200, IssuedAt: at},
		domain.AttestationCancelled{Number: n1, CancelledAt: at, Reason: "no"},
	}
	envs := make([]eventstore.Envelope, len(events))
	for i := range envs {
		envs[i] = eventstore.Envelope{Position: uint64(10 + i)}
	}
	r1, ok := views.Request("r1", envs, events)
	if !ok || r1.Status != "attested" || r1.AmountCents != 100 || r1.Attestation.Number != n1.String() || r1.Position != 11 {
		t.Errorf("request r1: %+v %v", r1, ok)
	}
	a1, ok := views.Attestation(n1, envs, events)
	if !ok || a1.Status != "cancelled" || a1.RequestID != "r1" || a1.Position != 14 {
		t.Errorf("attestation 1: %+v %v", a1, ok)
	}
	a2, ok := views.Attestation(n2, envs, events)
	if !ok || a2.Status != "issued" || a2.AmountCents != 200 || a2.Position != 13 {
		t.Errorf("attestation 2: %+v %v", a2, ok)
	}
	if _, ok := views.Attestation(n2, envs[:2], events[:2]); ok {
		t.Error("attestation 2 found before its issue")
	}
	if _, ok := views.Request("r3", envs, events); ok {
		t.Error("an unknown request was found")
	}
}

// Decode names the position of an event it cannot decode.
func TestDecode(t *testing.T) {
	if _, err := views.Decode(eventstore.Envelope{Position: 7, Type: "no.such", SchemaVersion: 1, Data: []byte("{}")}); err == nil {
		t.Fatal("an unknown type decoded")
	}
}
