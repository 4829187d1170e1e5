package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// Helpers for tests that read "given these events, when this command, then
// these events (or this error)".

var (
	testSIREN  = mustSIREN("732829320")
	bnp        = mustBank("30004")
	socgen     = mustBank("30003")
	t0         = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	bnpActor   = Actor{Role: RoleBank, ID: "30004"}
	sgActor    = Actor{Role: RoleBank, ID: "30003"}
	ownerActor = Actor{Role: RoleCompany, ID: "732829320"}
	adminActor = Actor{Role: RoleAdmin, ID: "ops-1"}
)

func mustSIREN(s string) SIREN {
	v, err := ParseSIREN(s)
	if err != nil {
		panic(err)
	}
	return v
}

func mustBank(s string) BankCode {
	v, err := ParseBankCode(s)
	if err != nil {
		panic(err)
	}
	return v
}

func mustNAF(s string) NAFCode {
	v, err := ParseNAF(s)
	if err != nil {
		panic(err)
	}
	return v
}

func mustRegion(s string) RegionCode {
	v, err := ParseRegion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func cents(c int64) *Cents { v := Cents(c); return &v }

// bakery is the API.md example: a micro-company created in 2012 with
// 850,000 € of turnover, so a ceiling of 212,500 €.
func bakery() CompanyProfile {
	return CompanyProfile{
		Name: "Boulangerie Martin", LegalForm: "SAS", NAF: mustNAF("10.71C"), Region: mustRegion("11"),
		Headcount: 12, Turnover: 85000000, BalanceSheet: cents(40000000), Payroll: 30000000,
		CreatedOn:            MustDate("2012-05-14"),
		CollectiveProceeding: CollectiveProceeding{Kind: ProceedingNone},
	}
}

// number returns a deterministic attestation number for test i.
func number(i byte) AttestationNumber {
	return NewAttestationNumber([NumberEntropyBytes]byte{i, 1, 2, 3, 4, 5, 6, 7, 8, i})
}

// submit builds a submission by BNP on the bakery's behalf.
func submit(id string, amount Cents, on string, p CompanyProfile, n byte) SubmitLoanRequest {
	return SubmitLoanRequest{
		RequestID: id, SIREN: testSIREN, Bank: bnp, Amount: amount, RequestedOn: MustDate(on),
		Profile: p, Number: number(n), By: bnpActor,
	}
}

// given rebuilds the aggregate from events, failing the test on error.
func given(t *testing.T, events ...Event) *Company {
	t.Helper()
	c, err := RebuildCompany(testSIREN, events)
	if err != nil {
		t.Fatalf("given: %v", err)
	}
	return c
}

// decided runs a decision, applies its events to c and returns them; the
// test fails on an error.
func decided(t *testing.T, c *Company, decide func() ([]Event, error)) []Event {
	t.Helper()
	events, err := decide()
	if err != nil {
		t.Fatalf("when: unexpected error %v", err)
	}
	for _, e := range events {
		if err := c.Apply(e); err != nil {
			t.Fatalf("apply decided event: %v", err)
		}
	}
	return events
}

// history submits and returns the events of a sequence of submissions.
func history(t *testing.T, cmds ...SubmitLoanRequest) []Event {
	t.Helper()
	c := NewCompany(testSIREN)
	var all []Event
	for _, cmd := range cmds {
		all = append(all, decided(t, c, func() ([]Event, error) { return c.SubmitLoanRequest(cmd, t0) })...)
	}
	return all
}

// thenError checks that a decision failed with an error of kind want and
// returned no event.
func thenError(t *testing.T, events []Event, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("then: error %v, want %v", err, want)
	}
	if len(events) != 0 {
		t.Fatalf("then: a failed decision returned events %v", events)
	}
}

// thenEvents checks the exact events of a decision.
func thenEvents(t *testing.T, got []Event, err error, want ...Event) {
	t.Helper()
	if err != nil {
		t.Fatalf("then: unexpected error %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("then: events\n got %#v\nwant %#v", got, want)
	}
}

// outcome submits cmd on the state given by events and returns the
// assessment event and whether an attestation was issued.
func outcome(t *testing.T, events []Event, cmd SubmitLoanRequest) (LoanRequestAssessed, bool) {
	t.Helper()
	c := given(t, events...)
	got, err := c.SubmitLoanRequest(cmd, t0)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if len(got) < 2 {
		t.Fatalf("submit returned %d events", len(got))
	}
	a, ok := got[1].(LoanRequestAssessed)
	if !ok {
		t.Fatalf("second event is %T", got[1])
	}
	return a, len(got) == 3
}

// codes lists the reason codes of an assessment.
func codes(rs []Reason) []ReasonCode {
	out := []ReasonCode{}
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}
