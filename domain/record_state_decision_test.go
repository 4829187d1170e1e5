package domain

import (
	"reflect"
	"testing"
)

// bigCorp is a large company (§5): 6,000 people.
func bigCorp() CompanyProfile {
	p := bakery()
	p.Name, p.LegalForm, p.Headcount = "Grand Groupe", "SA", 6000
	p.Turnover, p.BalanceSheet = 1_000_000_000_00, cents(900_000_000_00) // ceiling 250 M €
	return p
}

func pendingBigCorp(t *testing.T) []Event {
	t.Helper()
	events := history(t, submit("big", 100_000_000_00, "2020-04-20", bigCorp(), 1))
	if a := events[1].(LoanRequestAssessed); a.Outcome != OutcomePendingStateReview {
		t.Fatalf("setup: %+v", a)
	}
	return events
}

func TestStateApprovalIssuesTheAttestation(t *testing.T) {
	c := given(t, pendingBigCorp(t)...)
	got, err := c.RecordStateDecision(RecordStateDecision{RequestID: "big", Approved: true, DecreeRef: "ECOT2020-0042", Number: number(9), By: adminActor}, t0)
	thenEvents(t, got, err,
		StateDecisionRecorded{
			RequestID: "big", Approved: true, DecreeRef: "ECOT2020-0042", Outcome: OutcomeAttested,
			RulesVersion: "2020-03-23", Reasons: []Reason{}, CeilingCents: 250_000_000_00,
			RemainingCeilingCents: 250_000_000_00, DecidedBy: adminActor, DecidedAt: t0,
		},
		AttestationIssued{
			Number: number(9), RequestID: "big", SIREN: testSIREN, CompanyName: "Grand Groupe", BankCode: bnp, Amount: 100_000_000_00,
			GuaranteeRateBps: 8000, FeeScheduleBps: LargerFeeSchedule, DecreeRef: "ECOT2020-0042", IssuedAt: t0,
		},
	)
	decided(t, c, func() ([]Event, error) { return got, nil })
	r, _ := c.Request("big")
	if r.Status != RequestAttested || r.DecreeRef != "ECOT2020-0042" || r.Attestation != number(9) || r.RemainingCeiling != 150_000_000_00 {
		t.Fatalf("request: %+v", r)
	}
}

func TestStateRefusalRejectsTheRequest(t *testing.T) {
	c := given(t, pendingBigCorp(t)...)
	got := decided(t, c, func() ([]Event, error) {
		return c.RecordStateDecision(RecordStateDecision{RequestID: "big", Approved: false, By: adminActor}, t0)
	})
	if len(got) != 1 {
		t.Fatalf("refusal issued something: %+v", got)
	}
	r, _ := c.Request("big")
	if r.Status != RequestRejected || !reflect.DeepEqual(codes(r.Reasons), []ReasonCode{ReasonStateRefused}) {
		t.Fatalf("request: %+v", r)
	}
}

func TestStateApprovalRechecksTheOtherRulesAtDecisionTime(t *testing.T) {
	// While the big request waits, the ceiling is used: two approvals of
	// 100 M € and 200 M € cannot both be attested under a 250 M € ceiling.
	events := pendingBigCorp(t)
	c := given(t, events...)
	decided(t, c, func() ([]Event, error) {
		cmd := submit("big2", 200_000_000_00, "2020-05-04", bigCorp(), 2)
		return c.SubmitLoanRequest(cmd, t0)
	})
	decided(t, c, func() ([]Event, error) {
		return c.RecordStateDecision(RecordStateDecision{RequestID: "big2", Approved: true, DecreeRef: "D2", Number: number(2), By: adminActor}, t0)
	})
	got := decided(t, c, func() ([]Event, error) {
		return c.RecordStateDecision(RecordStateDecision{RequestID: "big", Approved: true, DecreeRef: "D1", Number: number(3), By: adminActor}, t0)
	})
	d := got[0].(StateDecisionRecorded)
	// Requested on 2020-04-20, it also meets the one-attestation rule.
	want := []ReasonCode{ReasonOneAttestationUntilMay, ReasonCeilingExceeded}
	if len(got) != 1 || d.Outcome != OutcomeRejected || !reflect.DeepEqual(codes(d.Reasons), want) {
		t.Fatalf("decision: %+v", got)
	}
	if _, amount := c.Active(); amount != 200_000_000_00 {
		t.Fatalf("active %d", amount)
	}
}

func TestStateDecisionErrors(t *testing.T) {
	pending := pendingBigCorp(t)
	approve := RecordStateDecision{RequestID: "big", Approved: true, DecreeRef: "D1", Number: number(9), By: adminActor}
	for _, tc := range []struct {
		name   string
		events []Event
		cmd    func(RecordStateDecision) RecordStateDecision
		want   error
	}{
		{"unknown request", pending, func(c RecordStateDecision) RecordStateDecision { c.RequestID = "nope"; return c }, ErrNotFound},
		{"approval without decree", pending, func(c RecordStateDecision) RecordStateDecision { c.DecreeRef = " "; return c }, ErrInvalid},
		{"approval without number", pending, func(c RecordStateDecision) RecordStateDecision { c.Number = AttestationNumber{}; return c }, ErrInvalid},
		{"no request id", pending, func(c RecordStateDecision) RecordStateDecision { c.RequestID = ""; return c }, ErrInvalid},
		{"request not pending", history(t, submit("r1", 1000, "2020-05-04", bakery(), 1)), func(c RecordStateDecision) RecordStateDecision {
			c.RequestID = "r1"
			return c
		}, ErrConflict},
		{"number already used", pending, func(c RecordStateDecision) RecordStateDecision { c.Number = number(1); return c }, ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := given(t, tc.events...)
			if tc.name == "number already used" {
				decided(t, c, func() ([]Event, error) {
					return c.SubmitLoanRequest(submit("small", 1000, "2020-05-04", bakery(), 1), t0)
				})
			}
			got, err := c.RecordStateDecision(tc.cmd(approve), t0)
			thenError(t, got, err, tc.want)
		})
	}
	// Deciding twice: the second is a conflict.
	c := given(t, pending...)
	decided(t, c, func() ([]Event, error) { return c.RecordStateDecision(approve, t0) })
	got, err := c.RecordStateDecision(approve, t0)
	thenError(t, got, err, ErrConflict)
}
