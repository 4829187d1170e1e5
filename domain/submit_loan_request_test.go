package domain

import (
	"reflect"
	"testing"
)

func TestSubmitEligibleRequestIssuesAttestationAtOnce(t *testing.T) {
	c := given(t)
	cmd := submit("r1", 15000000, "2020-03-27", bakery(), 1)
	got, err := c.SubmitLoanRequest(cmd, t0)
	submitted := LoanRequestSubmitted{
		RequestID: "r1", SIREN: testSIREN, BankCode: bnp, Amount: 15000000,
		RequestedOn: MustDate("2020-03-27"), Company: bakery(), SubmittedBy: bnpActor, SubmittedAt: t0,
	}
	thenEvents(t, got, err,
		submitted,
		LoanRequestAssessed{
			RequestID: "r1", Outcome: OutcomeEligible, RulesVersion: "2020-03-23", Reasons: []Reason{},
			SizeCategory: SizeSME, CeilingCents: 21250000, RemainingCeilingCents: 21250000,
			GuaranteeRateBps: 9000, FeeScheduleBps: SMEFeeSchedule,
		},
		AttestationIssued{
			Number: number(1), RequestID: "r1", SIREN: testSIREN, CompanyName: "Boulangerie Martin", BankCode: bnp, Amount: 15000000,
			GuaranteeRateBps: 9000, FeeScheduleBps: SMEFeeSchedule, IssuedAt: t0,
		},
	)
	decided(t, c, func() ([]Event, error) { return got, nil })
	r, _ := c.Request("r1")
	if r.Status != RequestAttested || r.Attestation != number(1) || r.RemainingCeiling != 6250000 {
		t.Fatalf("request after issue: %+v", r)
	}
	a, _ := c.Attestation(number(1))
	if a.Status != AttestationIssuedStatus || a.Amount != 15000000 {
		t.Fatalf("attestation after issue: %+v", a)
	}
}

func TestSubmitRejectionIsRecordedNotAnError(t *testing.T) {
	p := bakery()
	p.LegalForm = "sci" // normalised to SCI
	c := given(t)
	got, err := c.SubmitLoanRequest(submit("r1", 1000, "2020-04-02", p, 1), t0)
	if err != nil {
		t.Fatalf("a rejection must not be an error: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("rejection: want submitted and assessed, got %d events", len(got))
	}
	if s := got[0].(LoanRequestSubmitted); s.Company.LegalForm != "SCI" {
		t.Fatalf("legal form not normalised: %q", s.Company.LegalForm)
	}
	a := got[1].(LoanRequestAssessed)
	if a.Outcome != OutcomeRejected || !reflect.DeepEqual(codes(a.Reasons), []ReasonCode{ReasonExcludedLegalForm}) {
		t.Fatalf("assessment: %+v", a)
	}
	decided(t, c, func() ([]Event, error) { return got, nil })
	if r, _ := c.Request("r1"); r.Status != RequestRejected || len(r.Reasons) != 1 {
		t.Fatalf("request: %+v", r)
	}
	if n, amount := c.Active(); n != 0 || amount != 0 {
		t.Fatalf("a rejected request holds %d attestations, %d cents", n, amount)
	}
}

func TestSubmitReportsEveryReasonInRuleOrder(t *testing.T) {
	p := bakery()
	p.LegalForm = "SCI"
	p.NAF = mustNAF("64.19Z")
	d := MustDate("2019-06-01")
	p.CollectiveProceeding = CollectiveProceeding{Kind: ProceedingLiquidation, OpenedOn: &d}
	a, issued := outcome(t, nil, submit("r1", 99999999999, "2020-03-15", p, 1))
	want := []ReasonCode{ReasonOutsideProgrammeWindow, ReasonExcludedLegalForm, ReasonExcludedCreditInstitution, ReasonCollectiveProceeding, ReasonCeilingExceeded}
	if issued || !reflect.DeepEqual(codes(a.Reasons), want) {
		t.Fatalf("reasons %v, want %v", codes(a.Reasons), want)
	}
	for _, r := range a.Reasons {
		if r.Message == "" {
			t.Fatalf("reason %s has no message", r.Code)
		}
	}
}

func TestProgrammeWindowBoundaries(t *testing.T) {
	for _, tc := range []struct {
		on       string
		eligible bool
	}{
		{"2020-03-15", false}, {"2020-03-16", true}, {"2022-06-30", true}, {"2022-07-01", false},
	} {
		a, issued := outcome(t, nil, submit("r1", 1000, tc.on, bakery(), 1))
		if issued != tc.eligible {
			t.Errorf("%s: issued=%v, want %v (reasons %v)", tc.on, issued, tc.eligible, codes(a.Reasons))
		}
		if !tc.eligible && !reflect.DeepEqual(codes(a.Reasons), []ReasonCode{ReasonOutsideProgrammeWindow}) {
			t.Errorf("%s: reasons %v", tc.on, codes(a.Reasons))
		}
	}
}

func TestExcludedActivities(t *testing.T) {
	for _, tc := range []struct {
		naf      string
		excluded bool
	}{
		{"64.11Z", true}, {"6419Z", true}, {"64.92Z", true}, {"64.20Z", false}, {"66.12Z", false}, {"10.71C", false},
	} {
		p := bakery()
		p.NAF = mustNAF(tc.naf)
		a, issued := outcome(t, nil, submit("r1", 1000, "2020-04-02", p, 1))
		if issued == tc.excluded {
			t.Errorf("NAF %s: issued=%v, reasons %v", tc.naf, issued, codes(a.Reasons))
		}
		if tc.excluded && !reflect.DeepEqual(codes(a.Reasons), []ReasonCode{ReasonExcludedCreditInstitution}) {
			t.Errorf("NAF %s: reasons %v", tc.naf, codes(a.Reasons))
		}
	}
}

func TestCollectiveProceedingsFollowTheRuleSetOfTheBusinessDate(t *testing.T) {
	for _, tc := range []struct {
		name, opened, on, rules string
		excluded                bool
	}{
		{"open in 2020, old rules", "2020-02-10", "2020-04-25", "2020-03-23", true},
		{"open in 2020, amended law", "2020-02-10", "2020-04-26", "2020-04-26", false},
		{"open since 2019, old rules", "2019-12-31", "2020-04-25", "2020-03-23", true},
		{"open since 2019, amended law", "2019-12-31", "2020-04-26", "2020-04-26", true},
		{"opened 2020-01-01, amended law", "2020-01-01", "2020-05-04", "2020-04-26", false},
		{"opened after the request date, old rules", "2020-04-10", "2020-04-02", "2020-03-23", false},
		{"opened on the request date, old rules", "2020-04-02", "2020-04-02", "2020-03-23", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, kind := range []ProceedingKind{ProceedingSafeguard, ProceedingReceivership, ProceedingLiquidation} {
				p := bakery()
				d := MustDate(tc.opened)
				p.CollectiveProceeding = CollectiveProceeding{Kind: kind, OpenedOn: &d}
				a, issued := outcome(t, nil, submit("r1", 1000, tc.on, p, 1))
				if a.RulesVersion != tc.rules {
					t.Fatalf("%s: rules %s, want %s", kind, a.RulesVersion, tc.rules)
				}
				if issued == tc.excluded {
					t.Fatalf("%s: issued=%v, reasons %v", kind, issued, codes(a.Reasons))
				}
				if tc.excluded && !reflect.DeepEqual(codes(a.Reasons), []ReasonCode{ReasonCollectiveProceeding}) {
					t.Fatalf("%s: reasons %v", kind, codes(a.Reasons))
				}
			}
		})
	}
}

func TestOneAttestationAtATimeUntilMay2020(t *testing.T) {
	first := history(t, submit("r1", 1000000, "2020-04-01", bakery(), 1))
	for _, tc := range []struct {
		on      string
		allowed bool
	}{
		{"2020-04-30", false}, {"2020-05-01", true},
	} {
		a, issued := outcome(t, first, submit("r2", 1000000, tc.on, bakery(), 2))
		if issued != tc.allowed {
			t.Errorf("%s: issued=%v, reasons %v", tc.on, issued, codes(a.Reasons))
		}
		if !tc.allowed && !reflect.DeepEqual(codes(a.Reasons), []ReasonCode{ReasonOneAttestationUntilMay}) {
			t.Errorf("%s: reasons %v", tc.on, codes(a.Reasons))
		}
	}
	// Once the first is cancelled, a second one is allowed in April.
	c := given(t, first...)
	decided(t, c, func() ([]Event, error) {
		return c.CancelAttestation(CancelAttestation{Number: number(1), By: ownerActor}, t0)
	})
	if a, issued := outcome(t, append(first, AttestationCancelled{Number: number(1), CancelledBy: ownerActor, CancelledAt: t0}), submit("r2", 1000000, "2020-04-30", bakery(), 2)); !issued {
		t.Fatalf("after cancellation: reasons %v", codes(a.Reasons))
	}
}

func TestCeilingHitExactlyAndMissedByOneCentAcrossBanks(t *testing.T) {
	// Ceiling 21,250,000 cents; 15,000,000 already attested by BNP.
	first := history(t, submit("r1", 15000000, "2020-05-04", bakery(), 1))
	exact := submit("r2", 6250000, "2020-05-05", bakery(), 2)
	exact.Bank, exact.By = socgen, sgActor
	if a, issued := outcome(t, first, exact); !issued || a.RemainingCeilingCents != 6250000 {
		t.Fatalf("ceiling hit exactly: issued=%v %+v", issued, a)
	}
	over := exact
	over.Amount++
	a, issued := outcome(t, first, over)
	if issued || !reflect.DeepEqual(codes(a.Reasons), []ReasonCode{ReasonCeilingExceeded}) {
		t.Fatalf("ceiling missed by one cent: issued=%v reasons %v", issued, codes(a.Reasons))
	}
}

func TestCancelledAttestationReleasesTheCeiling(t *testing.T) {
	first := history(t, submit("r1", 21250000, "2020-05-04", bakery(), 1))
	if a, issued := outcome(t, first, submit("r2", 1, "2020-05-05", bakery(), 2)); issued {
		t.Fatalf("a full ceiling took 1 more cent: %+v", a)
	}
	c := given(t, first...)
	decided(t, c, func() ([]Event, error) {
		return c.CancelAttestation(CancelAttestation{Number: number(1), Reason: "wrong amount", By: bnpActor}, t0)
	})
	if n, amount := c.Active(); n != 0 || amount != 0 {
		t.Fatalf("after cancel: %d active, %d cents", n, amount)
	}
	got := decided(t, c, func() ([]Event, error) {
		return c.SubmitLoanRequest(submit("r2", 21250000, "2020-05-05", bakery(), 2), t0)
	})
	if len(got) != 3 {
		t.Fatalf("the released ceiling was not available again: %+v", got)
	}
}

func TestGrantedAttestationStillCountsAgainstTheCeiling(t *testing.T) {
	c := given(t, history(t, submit("r1", 21250000, "2020-05-04", bakery(), 1))...)
	decided(t, c, func() ([]Event, error) {
		return c.GrantLoan(GrantLoan{Number: number(1), Amount: 20000000, GrantedOn: MustDate("2020-05-10"), DurationMonths: 12, By: bnpActor}, t0)
	})
	got, err := c.SubmitLoanRequest(submit("r2", 1, "2020-05-11", bakery(), 2), t0)
	if err != nil || len(got) != 2 || got[1].(LoanRequestAssessed).Reasons[0].Code != ReasonCeilingExceeded {
		t.Fatalf("a granted attestation released its ceiling: %v %+v", err, got)
	}
}

func TestLargeCompanyWaitsForTheState(t *testing.T) {
	for _, tc := range []struct {
		name      string
		headcount int64
		turnover  Cents
		large     bool
		rate      BasisPoints
	}{
		{"4,999 people", 4999, 100_000_000_00, false, 9000},
		{"5,000 people", 5000, 100_000_000_00, true, 8000},
		{"1.5 bn € less a cent", 100, 1_500_000_000_00 - 1, false, 9000},
		{"1.5 bn €", 100, 1_500_000_000_00, true, 8000},
		{"5 bn €", 100, 5_000_000_000_00, true, 8000},
		{"5 bn € and a cent", 100, 5_000_000_000_00 + 1, true, 7000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := bakery()
			p.Headcount, p.Turnover = tc.headcount, tc.turnover
			a, issued := outcome(t, nil, submit("r1", 100_000_00, "2020-04-02", p, 1))
			if a.GuaranteeRateBps != tc.rate {
				t.Errorf("rate %d, want %d", a.GuaranteeRateBps, tc.rate)
			}
			if tc.large {
				if issued || a.Outcome != OutcomePendingStateReview || !reflect.DeepEqual(codes(a.Reasons), []ReasonCode{ReasonLargeCompanyStateDecree}) {
					t.Fatalf("large company: issued=%v %+v", issued, a)
				}
			} else if !issued {
				t.Fatalf("not large, but not issued: %+v", a)
			}
		})
	}
}

func TestIneligibleLargeCompanyIsRejectedNotSentToTheState(t *testing.T) {
	p := bakery()
	p.Headcount = 6000
	p.LegalForm = "SCI"
	a, _ := outcome(t, nil, submit("r1", 1000, "2020-04-02", p, 1))
	if a.Outcome != OutcomeRejected || !reflect.DeepEqual(codes(a.Reasons), []ReasonCode{ReasonExcludedLegalForm}) {
		t.Fatalf("%+v", a)
	}
}

func TestCeilingDependsOnCreationDate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		created    string
		innovative bool
		want       Cents
	}{
		{"created 2018-12-31: 25 % of turnover", "2018-12-31", false, 21250000},
		{"created 2019-01-01: two years' payroll", "2019-01-01", false, 30000000},
		{"innovative, payroll wins", "2018-12-31", true, 60000000},
		{"innovative created 2019: payroll only", "2019-06-01", true, 30000000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := bakery()
			p.CreatedOn, p.Innovative = MustDate(tc.created), tc.innovative
			a, _ := outcome(t, nil, submit("r1", 1, "2020-04-02", p, 1))
			if a.CeilingCents != tc.want {
				t.Fatalf("ceiling %d, want %d", a.CeilingCents, tc.want)
			}
		})
	}
	p := bakery()
	p.Innovative, p.Payroll = true, 1 // 25 % of turnover wins
	if got := Ceiling(p); got != 21250000 {
		t.Fatalf("innovative, turnover wins: %d", got)
	}
	p.Turnover = 1_000_003 // 25 % is 250,000.75 cents: rounded down
	if got := Ceiling(p); got != 250000 {
		t.Fatalf("rounding: %d", got)
	}
}

func TestSubmitRefusesBadInputWithEveryField(t *testing.T) {
	p := bakery()
	p.Name = " "
	p.Headcount = -1
	p.CollectiveProceeding = CollectiveProceeding{Kind: "bankrupt"}
	cmd := submit("r1", 0, "2020-04-02", p, 1)
	c := given(t)
	got, err := c.SubmitLoanRequest(cmd, t0)
	thenError(t, got, err, ErrInvalid)
	var ve *ValidationError
	if !asValidation(err, &ve) {
		t.Fatalf("not a ValidationError: %T", err)
	}
	fields := map[string]bool{}
	for _, f := range ve.Errors {
		fields[f.Field] = true
	}
	for _, f := range []string{"amountCents", "company.name", "company.headcount", "company.collectiveProceeding.kind"} {
		if !fields[f] {
			t.Errorf("no error for %s in %v", f, ve.Errors)
		}
	}
}

func TestSubmitValidationCases(t *testing.T) {
	opened := MustDate("2020-01-10")
	for _, tc := range []struct {
		name  string
		field string
		edit  func(*SubmitLoanRequest)
	}{
		{"negative amount", "amountCents", func(c *SubmitLoanRequest) { c.Amount = -5 }},
		{"amount over the maximum", "amountCents", func(c *SubmitLoanRequest) { c.Amount = MaxCents + 1 }},
		{"no request id", "requestId", func(c *SubmitLoanRequest) { c.RequestID = "" }},
		{"no business date", "requestedOn", func(c *SubmitLoanRequest) { c.RequestedOn = Date{} }},
		{"created after the request", "company.createdOn", func(c *SubmitLoanRequest) { c.Profile.CreatedOn = MustDate("2020-04-03") }},
		{"proceeding without date", "company.collectiveProceeding.openedOn", func(c *SubmitLoanRequest) {
			c.Profile.CollectiveProceeding = CollectiveProceeding{Kind: ProceedingSafeguard}
		}},
		{"no proceeding but a date", "company.collectiveProceeding.openedOn", func(c *SubmitLoanRequest) {
			c.Profile.CollectiveProceeding = CollectiveProceeding{Kind: ProceedingNone, OpenedOn: &opened}
		}},
		{"negative balance sheet", "company.balanceSheetCents", func(c *SubmitLoanRequest) { c.Profile.BalanceSheet = cents(-1) }},
		{"no NAF code", "company.nafCode", func(c *SubmitLoanRequest) { c.Profile.NAF = NAFCode{} }},
		{"no region", "company.regionCode", func(c *SubmitLoanRequest) { c.Profile.Region = RegionCode{} }},
		{"no legal form", "company.legalForm", func(c *SubmitLoanRequest) { c.Profile.LegalForm = "" }},
		{"no bank", "bankCode", func(c *SubmitLoanRequest) { c.Bank = BankCode{} }},
		{"no number", "number", func(c *SubmitLoanRequest) { c.Number = AttestationNumber{} }},
		{"another company's SIREN", "siren", func(c *SubmitLoanRequest) { c.SIREN = mustSIREN("356000000") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := submit("r1", 1000, "2020-04-02", bakery(), 1)
			tc.edit(&cmd)
			got, err := given(t).SubmitLoanRequest(cmd, t0)
			thenError(t, got, err, ErrInvalid)
			var ve *ValidationError
			if !asValidation(err, &ve) || ve.Errors[0].Field != tc.field {
				t.Fatalf("error %v, want field %s", err, tc.field)
			}
		})
	}
}

func TestSubmitConflictsOnReusedIdentifiers(t *testing.T) {
	events := history(t, submit("r1", 1000, "2020-05-04", bakery(), 1))
	got, err := given(t, events...).SubmitLoanRequest(submit("r1", 1000, "2020-05-04", bakery(), 2), t0)
	thenError(t, got, err, ErrConflict)
	got, err = given(t, events...).SubmitLoanRequest(submit("r2", 1000, "2020-05-04", bakery(), 1), t0)
	thenError(t, got, err, ErrConflict)
}
