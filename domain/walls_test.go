package domain

import (
	"strings"
	"testing"
)

// A rejected request, which any bank may submit for any SIREN with any
// figures, changes neither the company's profile nor its ceiling (the audit's
// finding: a request dated before the programme, turnover 4 cents, an
// injected name).
func TestARejectedRequestNeverChangesTheCompanyProfile(t *testing.T) {
	c := given(t, history(t, submit("r1", 5000000, "2020-05-04", bakery(), 1))...)
	before, ok := c.Profile()
	if !ok || c.Ceiling() != 21250000 {
		t.Fatalf("profile %+v %v, ceiling %s", before, ok, c.Ceiling())
	}
	poison := bakery()
	poison.Name, poison.Turnover = `=HYPERLINK("http://evil.example/x","Click")`, 4
	cmd := submit("r2", 100, "2020-03-01", poison, 2)
	cmd.Bank, cmd.By = socgen, sgActor
	events := decided(t, c, func() ([]Event, error) { return c.SubmitLoanRequest(cmd, t0) })
	if a := events[1].(LoanRequestAssessed); a.Outcome != OutcomeRejected {
		t.Fatalf("the poisoned request was %s", a.Outcome)
	}
	after, _ := c.Profile()
	if after.Name != before.Name || after.Turnover != before.Turnover || c.Ceiling() != 21250000 {
		t.Fatalf("a rejected request changed the profile: %+v, ceiling %s", after, c.Ceiling())
	}
	if r, _ := c.Request("r2"); r.Profile.Name != poison.Name {
		t.Fatalf("the request lost its own declared profile: %+v", r.Profile)
	}
}

// A company with only rejected requests has no profile; its first attested
// request gives it one, and a later attested one does not replace it.
func TestTheFirstAttestedRequestGivesTheProfile(t *testing.T) {
	early := bakery()
	early.Name = "Rejected"
	c := given(t, history(t, submit("r0", 100, "2020-03-01", early, 9))...)
	if p, ok := c.Profile(); ok || c.Ceiling() != 0 {
		t.Fatalf("a rejected request gave a profile: %+v", p)
	}
	decided(t, c, func() ([]Event, error) { return c.SubmitLoanRequest(submit("r1", 100, "2020-05-04", bakery(), 1), t0) })
	later := bakery()
	later.Name, later.Turnover = "Renamed", 400_000_000_00
	decided(t, c, func() ([]Event, error) { return c.SubmitLoanRequest(submit("r2", 100, "2020-05-05", later, 2), t0) })
	if r, _ := c.Request("r2"); r.Status != RequestAttested {
		t.Fatalf("r2 %s %v", r.Status, r.Reasons)
	}
	if p, ok := c.Profile(); !ok || p.Name != bakery().Name || c.Ceiling() != 21250000 {
		t.Fatalf("profile %+v, ceiling %s", p, c.Ceiling())
	}
}

// A rejection tells the requester the headroom left for its request, never
// what the company already holds nor how many attestations: another bank's
// exposure.
func TestRejectionsRevealNoOtherBanksExposure(t *testing.T) {
	first := history(t, submit("r1", 15000000, "2020-04-06", bakery(), 1))
	over := submit("r2", 7000000, "2020-04-07", bakery(), 2)
	over.Bank, over.By = socgen, sgActor
	a, issued := outcome(t, first, over)
	if issued || len(a.Reasons) != 2 {
		t.Fatalf("issued=%v reasons %v", issued, codes(a.Reasons))
	}
	for _, r := range a.Reasons {
		for _, leak := range []string{"150000.00", "15000000", "holds 1", "already attested", "30004"} {
			if strings.Contains(r.Message, leak) {
				t.Errorf("%s says %q, which reveals %q", r.Code, r.Message, leak)
			}
		}
	}
	if msg := a.Reasons[1].Message; !strings.Contains(msg, "62500.00") {
		t.Errorf("the ceiling rejection does not give the headroom (62500.00 €): %q", msg)
	}
}
