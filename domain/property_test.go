package domain_test

// Property-based tests (pgregory.net/rapid) of the Company aggregate and of
// the pure rule functions.
//
// A run draws a company profile (fixed for the run), then a random sequence
// of commands on that company from several banks: submissions with business
// dates inside and around the programme window, grants with valid and
// invalid inputs, cancellations by owners and strangers, and State
// decisions. Every decision's events are applied to the aggregate, and the
// invariants of DOMAIN.md are checked after each step. An independent model
// of the rules of DOMAIN.md §3 and §5 predicts each decision's outcome, so
// that the invariants cannot hold merely because everything is rejected.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

var (
	fxSIREN, _  = domain.ParseSIREN("732829320")
	fxBanks     = []string{"30004", "30003", "20041"}
	fxOtherBank = "10107" // never lends to the company
	fxBase      = time.Date(2020, 3, 16, 8, 0, 0, 0, time.UTC)
	fxKeyDates  = []string{
		"2020-03-01", "2020-03-15", "2020-03-16", "2020-03-17", "2020-04-01", "2020-04-25",
		"2020-04-26", "2020-04-29", "2020-04-30", "2020-05-01", "2020-05-02", "2020-06-15",
		"2021-01-01", "2022-06-29", "2022-06-30", "2022-07-01", "2022-07-15",
	}
	fxOneAttestationUntil = domain.MustDate("2020-04-30")
)

// fxOneIn is true about once in n draws (rapid favours small integers, so
// the rare case is a middle value; shrinking goes to the common case).
func fxOneIn(t *rapid.T, label string, n int) bool {
	return rapid.IntRange(0, n-1).Draw(t, label) == n/2
}

// fxGenDate draws a business date inside or around the programme window,
// often on a boundary.
func fxGenDate(t *rapid.T, label string) domain.Date {
	switch rapid.IntRange(0, 5).Draw(t, label+"Kind") {
	case 1:
		return domain.MustDate(rapid.SampledFrom(fxKeyDates).Draw(t, label))
	case 2:
		return domain.ProgrammeStart.AddDays(rapid.IntRange(0, 45).Draw(t, label)) // up to 2020-04-30
	case 3:
		return domain.ProgrammeStart.AddDays(rapid.IntRange(-30, 866).Draw(t, label)) // around the window
	default:
		return domain.MustDate("2020-05-01").AddDays(rapid.IntRange(0, 790).Draw(t, label))
	}
}

// fxGenProfile draws a company profile. Most are eligible; some are large
// (State decision), some excluded.
func fxGenProfile(t *rapid.T) domain.CompanyProfile {
	rare := func(label string) bool { return fxOneIn(t, label, 12) }
	nafCode := rapid.SampledFrom([]string{"56.10A", "47.11F", "62.01Z", "10.71C"}).Draw(t, "naf")
	if rare("excludedNAF") {
		nafCode = rapid.SampledFrom([]string{"64.11Z", "64.19Z", "64.92Z"}).Draw(t, "excludedNAFCode")
	}
	legalForm := rapid.SampledFrom([]string{"SAS", "SARL", " sas ", "SA", "EURL"}).Draw(t, "legalForm")
	if rare("excludedLegalForm") {
		legalForm = rapid.SampledFrom([]string{"SCI", " sci"}).Draw(t, "sci")
	}
	naf, _ := domain.ParseNAF(nafCode)
	region, _ := domain.ParseRegion(rapid.SampledFrom([]string{"11", "53", "94", "04"}).Draw(t, "region"))
	headcount := rapid.Int64Range(0, 300).Draw(t, "headcount")
	turnover := rapid.Int64Range(100_000_00, 20_000_000_00).Draw(t, "turnover")
	if fxOneIn(t, "bigCompany", 4) {
		headcount = rapid.Int64Range(4_990, 6_000).Draw(t, "bigHeadcount")
		turnover = rapid.Int64Range(1_490_000_000_00, 6_000_000_000_00).Draw(t, "bigTurnover")
	}
	p := domain.CompanyProfile{
		Name:       "Société Test",
		LegalForm:  legalForm,
		NAF:        naf,
		Region:     region,
		Headcount:  headcount,
		Turnover:   domain.Cents(turnover),
		Payroll:    domain.Cents(rapid.Int64Range(10_000_00, turnover/2).Draw(t, "payroll")),
		Innovative: rapid.Bool().Draw(t, "innovative"),
		CreatedOn: rapid.OneOf(
			rapid.SampledFrom([]domain.Date{domain.MustDate("2018-12-31"), domain.MustDate("2019-01-01"), domain.MustDate("2020-04-01")}),
			rapid.Custom(func(t *rapid.T) domain.Date {
				return domain.MustDate("2000-01-01").AddDays(rapid.IntRange(0, 7000).Draw(t, "days"))
			}),
		).Draw(t, "createdOn"),
		CollectiveProceeding: domain.CollectiveProceeding{Kind: domain.ProceedingNone},
	}
	if rapid.Bool().Draw(t, "hasBalanceSheet") {
		bs := domain.Cents(rapid.Int64Range(0, 3_000_000_000_00).Draw(t, "balanceSheet"))
		p.BalanceSheet = &bs
	}
	if rare("proceeding") {
		opened := domain.MustDate("2019-06-01").AddDays(rapid.IntRange(0, 400).Draw(t, "openedDays"))
		p.CollectiveProceeding = domain.CollectiveProceeding{
			Kind:     rapid.SampledFrom([]domain.ProceedingKind{domain.ProceedingSafeguard, domain.ProceedingReceivership, domain.ProceedingLiquidation}).Draw(t, "kind"),
			OpenedOn: &opened,
		}
	}
	return p
}

// fxModelCeiling is DOMAIN.md §3.6, written independently.
func fxModelCeiling(p domain.CompanyProfile) domain.Cents {
	if !p.CreatedOn.Before(domain.MustDate("2019-01-01")) {
		return p.Payroll
	}
	c := p.Turnover / 4
	if p.Innovative && 2*p.Payroll > c {
		return 2 * p.Payroll
	}
	return c
}

// fxModelReasons is DOMAIN.md §3, written independently: the reason codes,
// in the order of §3, of a request given what the company holds.
func fxModelReasons(p domain.CompanyProfile, amount domain.Cents, on domain.Date, activeCount int, activeAmount domain.Cents) []domain.ReasonCode {
	var rs []domain.ReasonCode
	if on.Before(domain.MustDate("2020-03-16")) || on.After(domain.MustDate("2022-06-30")) {
		rs = append(rs, domain.ReasonOutsideProgrammeWindow)
	}
	if strings.ToUpper(strings.TrimSpace(p.LegalForm)) == "SCI" {
		rs = append(rs, domain.ReasonExcludedLegalForm)
	}
	switch p.NAF.String() {
	case "64.11Z", "64.19Z", "64.92Z":
		rs = append(rs, domain.ReasonExcludedCreditInstitution)
	}
	if cp := p.CollectiveProceeding; cp.Kind != domain.ProceedingNone && !cp.OpenedOn.After(on) {
		if on.Before(domain.MustDate("2020-04-26")) || cp.OpenedOn.Before(domain.MustDate("2020-01-01")) {
			rs = append(rs, domain.ReasonCollectiveProceeding)
		}
	}
	if !on.After(fxOneAttestationUntil) && activeCount > 0 {
		rs = append(rs, domain.ReasonOneAttestationUntilMay)
	}
	if activeAmount+amount > fxModelCeiling(p) {
		rs = append(rs, domain.ReasonCeilingExceeded)
	}
	return rs
}

// fxModelLarge is DOMAIN.md §5.
func fxModelLarge(p domain.CompanyProfile) bool {
	return p.Headcount >= 5_000 || p.Turnover >= 1_500_000_000_00
}

func fxCodes(rs []domain.Reason) []domain.ReasonCode {
	out := []domain.ReasonCode{}
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

// fxRun is the state of one property run.
type fxRun struct {
	t        *rapid.T
	profile  domain.CompanyProfile
	c        *domain.Company
	events   []domain.Event
	decoded  []domain.Event
	step     int
	ids      []string
	nextNum  uint64
	ceiling  domain.Cents
	outcomes map[string]int // for the statistics
}

func (r *fxRun) now() time.Time { return fxBase.Add(time.Duration(r.step) * time.Minute) }

func (r *fxRun) freshNumber() domain.AttestationNumber {
	r.nextNum++
	var e [domain.NumberEntropyBytes]byte
	binary.BigEndian.PutUint64(e[:], r.nextNum*0x9E3779B97F4A7C15) // distinct in the first 64 bits
	return domain.NewAttestationNumber(e)
}

// pickNumber draws an existing attestation's number, or an unknown one.
func (r *fxRun) pickNumber(label string) (domain.AttestationNumber, *domain.Attestation) {
	atts := r.c.Attestations()
	if len(atts) == 0 || fxOneIn(r.t, label+"Unknown", 10) {
		return r.freshNumber(), nil
	}
	a := atts[rapid.IntRange(0, len(atts)-1).Draw(r.t, label)]
	return a.Number, &a
}

func (r *fxRun) drawAmount(label string) domain.Cents {
	c := int64(r.ceiling)
	if c < 3 {
		c = 3
	}
	switch rapid.IntRange(0, 9).Draw(r.t, label+"Kind") {
	case 5:
		return domain.Cents(rapid.SampledFrom([]int64{-1, 0, int64(domain.MaxCents) + 1}).Draw(r.t, label))
	case 6:
		return r.ceiling
	case 7, 8, 9:
		return domain.Cents(rapid.Int64Range(c/2, c+c/10+1).Draw(r.t, label))
	default:
		return domain.Cents(rapid.Int64Range(1, c/3).Draw(r.t, label))
	}
}

func (r *fxRun) submit() ([]domain.Event, error) {
	t := r.t
	id := fmt.Sprintf("req-%d", r.step)
	if len(r.ids) > 0 && fxOneIn(t, "reuseID", 10) {
		id = rapid.SampledFrom(r.ids).Draw(t, "existingID")
	}
	number := r.freshNumber()
	if atts := r.c.Attestations(); len(atts) > 0 && fxOneIn(t, "reuseNumber", 10) {
		number = atts[rapid.IntRange(0, len(atts)-1).Draw(t, "existingNumber")].Number
	}
	bank, _ := domain.ParseBankCode(rapid.SampledFrom(fxBanks).Draw(t, "bank"))
	by := domain.Actor{Role: domain.RoleCompany, ID: fxSIREN.String()}
	if rapid.Bool().Draw(t, "byBank") {
		by = domain.Actor{Role: domain.RoleBank, ID: bank.String()}
	}
	cmd := domain.SubmitLoanRequest{
		RequestID: id, SIREN: fxSIREN, Bank: bank, Amount: r.drawAmount("amount"),
		RequestedOn: fxGenDate(t, "requestedOn"), Profile: r.profile, Number: number, By: by,
	}
	count, active := r.c.Active()
	_, dupID := r.c.Request(id)
	_, dupNumber := r.c.Attestation(number)
	events, err := r.c.SubmitLoanRequest(cmd, r.now())

	switch {
	case cmd.Amount <= 0 || cmd.Amount > domain.MaxCents || r.profile.CreatedOn.After(cmd.RequestedOn):
		fxWantErr(t, "submit", err, domain.ErrInvalid)
	case dupID || dupNumber:
		fxWantErr(t, "submit", err, domain.ErrConflict)
	default:
		if err != nil {
			t.Fatalf("submit %+v: unexpected error %v", cmd, err)
		}
		want := fxModelReasons(r.profile, cmd.Amount, cmd.RequestedOn, count, active)
		assessed, ok := events[1].(domain.LoanRequestAssessed)
		if _, sub := events[0].(domain.LoanRequestSubmitted); !sub || !ok {
			t.Fatalf("submit returned %T, %T", events[0], events[1])
		}
		switch {
		case len(want) > 0:
			if assessed.Outcome != domain.OutcomeRejected || !reflect.DeepEqual(fxCodes(assessed.Reasons), want) || len(events) != 2 {
				t.Fatalf("submit %s on %s (active %d, %s; ceiling %s): outcome %s %v, want rejected %v", cmd.Amount, cmd.RequestedOn, count, active, r.ceiling, assessed.Outcome, fxCodes(assessed.Reasons), want)
			}
		case fxModelLarge(r.profile):
			if assessed.Outcome != domain.OutcomePendingStateReview || len(events) != 2 ||
				!reflect.DeepEqual(fxCodes(assessed.Reasons), []domain.ReasonCode{domain.ReasonLargeCompanyStateDecree}) {
				t.Fatalf("submit by a large company: outcome %s %v, want pending_state_review", assessed.Outcome, fxCodes(assessed.Reasons))
			}
		default:
			if assessed.Outcome != domain.OutcomeEligible || len(events) != 3 {
				t.Fatalf("submit %s on %s (active %d, %s; ceiling %s): outcome %s %v, want eligible", cmd.Amount, cmd.RequestedOn, count, active, r.ceiling, assessed.Outcome, fxCodes(assessed.Reasons))
			}
			if iss, ok := events[2].(domain.AttestationIssued); !ok || iss.Number != number || iss.Amount != cmd.Amount || iss.BankCode != bank {
				t.Fatalf("submit: third event %#v is not the attestation", events[2])
			}
		}
		r.outcomes[assessed.Outcome]++
		for _, code := range want {
			r.outcomes[string(code)]++
		}
		r.ids = append(r.ids, id)
	}
	return events, err
}

func (r *fxRun) grant() ([]domain.Event, error) {
	t := r.t
	number, a := r.pickNumber("grantNumber")
	cmd := domain.GrantLoan{
		Number:         number,
		DurationMonths: rapid.OneOf(rapid.IntRange(12, 72), rapid.SampledFrom([]int{0, 11, 73, 120})).Draw(t, "duration"),
		By:             domain.Actor{Role: domain.RoleBank, ID: rapid.SampledFrom(append([]string{fxOtherBank}, fxBanks...)).Draw(t, "grantBank")},
	}
	if fxOneIn(t, "grantByCompany", 10) {
		cmd.By = domain.Actor{Role: domain.RoleCompany, ID: fxSIREN.String()}
	}
	var requestedOn domain.Date
	if a != nil {
		if !fxOneIn(t, "grantByOwner", 4) {
			cmd.By = domain.Actor{Role: domain.RoleBank, ID: a.Bank.String()}
		}
		cmd.Amount = domain.Cents(rapid.OneOf(rapid.Int64Range(1, int64(a.Amount)), rapid.SampledFrom([]int64{0, -1, int64(a.Amount) + 1})).Draw(t, "grantAmount"))
		req, _ := r.c.Request(a.RequestID)
		requestedOn = req.RequestedOn
		cmd.GrantedOn = requestedOn.AddDays(rapid.IntRange(-3, 60).Draw(t, "grantDays"))
	} else {
		cmd.Amount = 1
		cmd.GrantedOn = fxGenDate(t, "grantedOn")
	}
	events, err := r.c.GrantLoan(cmd, r.now())
	switch {
	case a == nil || cmd.By.Role != domain.RoleBank || cmd.By.ID != a.Bank.String():
		fxWantErr(t, "grant", err, domain.ErrNotFound)
	case cmd.Amount <= 0 || cmd.Amount > a.Amount || cmd.DurationMonths < 12 || cmd.DurationMonths > 72 || cmd.GrantedOn.Before(requestedOn):
		fxWantErr(t, "grant", err, domain.ErrInvalid)
	case a.Status != domain.AttestationIssuedStatus:
		fxWantErr(t, "grant", err, domain.ErrConflict)
	default:
		if err != nil || len(events) != 1 {
			t.Fatalf("grant %+v of an issued attestation: %v, %d events", cmd, err, len(events))
		}
		g := events[0].(domain.LoanGranted)
		if g.Number != number || g.GrantedAmount != cmd.Amount || g.DurationMonths != cmd.DurationMonths || g.GrantedOn != cmd.GrantedOn {
			t.Fatalf("grant %+v gave %#v", cmd, g)
		}
		r.outcomes["granted"]++
	}
	return events, err
}

func (r *fxRun) cancel() ([]domain.Event, error) {
	t := r.t
	number, a := r.pickNumber("cancelNumber")
	actors := []domain.Actor{
		{Role: domain.RoleCompany, ID: fxSIREN.String()},
		{Role: domain.RoleCompany, ID: "552100554"},
		{Role: domain.RoleBank, ID: fxOtherBank},
		{Role: domain.RoleAdmin, ID: fxSIREN.String()},
		{Role: domain.RoleAuditor, ID: "30004"},
	}
	for _, b := range fxBanks {
		actors = append(actors, domain.Actor{Role: domain.RoleBank, ID: b})
	}
	cmd := domain.CancelAttestation{
		Number: number,
		By:     rapid.SampledFrom(actors).Draw(t, "cancelBy"),
		Reason: strings.Repeat("x", rapid.SampledFrom([]int{0, 20, 500, 501}).Draw(t, "reasonLen")),
	}
	events, err := r.c.CancelAttestation(cmd, r.now())
	owner := a != nil && ((cmd.By.Role == domain.RoleCompany && cmd.By.ID == fxSIREN.String()) ||
		(cmd.By.Role == domain.RoleBank && cmd.By.ID == a.Bank.String()))
	switch {
	case !owner:
		fxWantErr(t, "cancel", err, domain.ErrNotFound)
	case len(cmd.Reason) > 500:
		fxWantErr(t, "cancel", err, domain.ErrInvalid)
	case a.Status != domain.AttestationIssuedStatus:
		fxWantErr(t, "cancel", err, domain.ErrConflict)
	default:
		if err != nil || len(events) != 1 {
			t.Fatalf("cancel %+v of an issued attestation by its owner: %v, %d events", cmd, err, len(events))
		}
		if ev := events[0].(domain.AttestationCancelled); ev.Number != number || ev.CancelledBy != cmd.By || ev.Reason != cmd.Reason {
			t.Fatalf("cancel %+v gave %#v", cmd, ev)
		}
		r.outcomes["cancelled"]++
	}
	return events, err
}

func (r *fxRun) decide() ([]domain.Event, error) {
	t := r.t
	var pending []string
	for _, q := range r.c.Requests() {
		if q.Status == domain.RequestPendingStateReview {
			pending = append(pending, q.ID)
		}
	}
	id := "unknown-request"
	switch {
	case len(pending) > 0 && !fxOneIn(t, "decidePending", 5):
		id = rapid.SampledFrom(pending).Draw(t, "pendingID")
	case len(r.ids) > 0 && rapid.Bool().Draw(t, "decideAny"):
		id = rapid.SampledFrom(r.ids).Draw(t, "anyID")
	}
	cmd := domain.RecordStateDecision{
		RequestID: id,
		Approved:  !fxOneIn(t, "approved", 3),
		DecreeRef: rapid.SampledFrom([]string{"Arrêté du 2 avril 2020", "", "  ", strings.Repeat("d", 129)}).Draw(t, "decree"),
		Number:    r.freshNumber(),
		By:        domain.Actor{Role: domain.RoleAdmin, ID: "ops-1"},
	}
	if !fxOneIn(t, "decreeOK", 6) {
		cmd.DecreeRef = "Arrêté du 2 avril 2020"
	}
	if atts := r.c.Attestations(); len(atts) > 0 && fxOneIn(t, "decideReuseNumber", 10) {
		cmd.Number = atts[0].Number
	}
	req, known := r.c.Request(id)
	_, dupNumber := r.c.Attestation(cmd.Number)
	count, active := r.c.Active()
	events, err := r.c.RecordStateDecision(cmd, r.now())
	badDecree := len(cmd.DecreeRef) > 128 || (cmd.Approved && strings.TrimSpace(cmd.DecreeRef) == "")
	switch {
	case badDecree:
		fxWantErr(t, "decide", err, domain.ErrInvalid)
	case !known:
		fxWantErr(t, "decide", err, domain.ErrNotFound)
	case req.Status != domain.RequestPendingStateReview || (cmd.Approved && dupNumber):
		fxWantErr(t, "decide", err, domain.ErrConflict)
	default:
		if err != nil || len(events) == 0 {
			t.Fatalf("decide %+v on a pending request: %v", cmd, err)
		}
		d := events[0].(domain.StateDecisionRecorded)
		want := fxModelReasons(req.Profile, req.Amount, req.RequestedOn, count, active)
		switch {
		case !cmd.Approved:
			if d.Outcome != domain.OutcomeRejected || len(events) != 1 || !reflect.DeepEqual(fxCodes(d.Reasons), []domain.ReasonCode{domain.ReasonStateRefused}) {
				t.Fatalf("refusal gave %s %v with %d events", d.Outcome, fxCodes(d.Reasons), len(events))
			}
		case len(want) > 0:
			if d.Outcome != domain.OutcomeRejected || len(events) != 1 || !reflect.DeepEqual(fxCodes(d.Reasons), want) {
				t.Fatalf("approval when the rules no longer hold (active %d, %s): %s %v, want rejected %v", count, active, d.Outcome, fxCodes(d.Reasons), want)
			}
		default:
			if d.Outcome != domain.OutcomeAttested || len(events) != 2 {
				t.Fatalf("approval (active %d, %s, amount %s, ceiling %s): %s %v, want attested", count, active, req.Amount, r.ceiling, d.Outcome, fxCodes(d.Reasons))
			}
			iss := events[1].(domain.AttestationIssued)
			if iss.Number != cmd.Number || iss.RequestID != id || iss.Amount != req.Amount || iss.DecreeRef != cmd.DecreeRef || iss.BankCode != req.Bank || iss.SIREN != fxSIREN {
				t.Fatalf("approval issued %#v for request %+v", iss, req)
			}
		}
		r.outcomes["decided-"+d.Outcome]++
		if cmd.Approved && d.Outcome == domain.OutcomeRejected {
			r.outcomes["decided-rules-no-longer-hold"]++
		}
	}
	return events, err
}

func fxHasPending(c *domain.Company) bool {
	for _, q := range c.Requests() {
		if q.Status == domain.RequestPendingStateReview {
			return true
		}
	}
	return false
}

// fxWantErr checks that err is of kind want.
func fxWantErr(t *rapid.T, what string, err, want error) {
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// apply checks each event against the state before it (transitions, the
// one-attestation rule), applies it, then checks the invariants.
func (r *fxRun) apply(events []domain.Event) {
	t := r.t
	for _, e := range events {
		r.checkTransition(e)
		before := fxStatuses(r.c)
		if err := r.c.Apply(e); err != nil {
			t.Fatalf("Apply(%#v) of a decided event: %v", e, err)
		}
		fxCheckStatusChanges(t, before, fxStatuses(r.c), e)
		fxCheckStateReflects(t, r.c, e)
		r.events = append(r.events, e)

		// (c) each event survives its wire form.
		b, err := domain.EncodeEvent(e)
		if err != nil {
			t.Fatalf("EncodeEvent(%#v): %v", e, err)
		}
		back, err := domain.DecodeEvent(e.EventType(), e.EventSchemaVersion(), b)
		if err != nil {
			t.Fatalf("DecodeEvent(%s, %s): %v", e.EventType(), b, err)
		}
		if !fxEventsEqual(e, back) {
			t.Fatalf("wire round trip of %s changed it:\n%#v\n%#v", e.EventType(), e, back)
		}
		r.decoded = append(r.decoded, back)
	}
	r.checkInvariants()
}

// checkTransition checks that e may follow the current state (f) and, for an
// attestation of a request dated up to 2020-04-30, that the company held no
// other active attestation (e).
func (r *fxRun) checkTransition(e domain.Event) {
	t := r.t
	switch e := e.(type) {
	case domain.LoanRequestSubmitted:
		if _, dup := r.c.Request(e.RequestID); dup {
			t.Fatalf("request %s submitted twice", e.RequestID)
		}
	case domain.LoanRequestAssessed:
		if q, ok := r.c.Request(e.RequestID); !ok || q.Status != "" || q.RulesVersion != "" {
			t.Fatalf("assessment of request %s in state %q", e.RequestID, q.Status)
		}
	case domain.StateDecisionRecorded:
		if q, _ := r.c.Request(e.RequestID); q.Status != domain.RequestPendingStateReview {
			t.Fatalf("State decision on request %s in state %q", e.RequestID, q.Status)
		}
	case domain.AttestationIssued:
		q, ok := r.c.Request(e.RequestID)
		if !ok || (q.Status != "" && q.Status != domain.RequestPendingStateReview) {
			t.Fatalf("attestation issued for request %s in state %q", e.RequestID, q.Status)
		}
		if _, dup := r.c.Attestation(e.Number); dup {
			t.Fatalf("attestation %s issued twice", e.Number)
		}
		if count, _ := r.c.Active(); !q.RequestedOn.After(fxOneAttestationUntil) && count > 0 {
			t.Fatalf("(e) attestation issued for request %s dated %s while the company holds %d active attestations", e.RequestID, q.RequestedOn, count)
		}
	case domain.LoanGranted:
		if a, ok := r.c.Attestation(e.Number); !ok || a.Status != domain.AttestationIssuedStatus {
			t.Fatalf("(f) loan granted on attestation %s in state %q", e.Number, a.Status)
		}
	case domain.AttestationCancelled:
		if a, ok := r.c.Attestation(e.Number); !ok || a.Status != domain.AttestationIssuedStatus {
			t.Fatalf("(f) attestation %s cancelled in state %q", e.Number, a.Status)
		}
	default:
		t.Fatalf("unknown event %T", e)
	}
}

// fxCheckStateReflects checks that the aggregate's view shows what e records.
func fxCheckStateReflects(t *rapid.T, c *domain.Company, e domain.Event) {
	switch e := e.(type) {
	case domain.LoanRequestSubmitted:
		q, ok := c.Request(e.RequestID)
		if !ok || q.Amount != e.Amount || q.Bank != e.BankCode || q.RequestedOn != e.RequestedOn || q.SubmittedBy != e.SubmittedBy || !q.SubmittedAt.Equal(e.SubmittedAt) {
			t.Fatalf("after %#v the request is %+v", e, q)
		}
	case domain.LoanRequestAssessed:
		q, _ := c.Request(e.RequestID)
		if q.RulesVersion != e.RulesVersion || q.Ceiling != e.CeilingCents || q.GuaranteeRate != e.GuaranteeRateBps || q.Fees != e.FeeScheduleBps || q.SizeCategory != e.SizeCategory {
			t.Fatalf("after %#v the request is %+v", e, q)
		}
		if e.Outcome == domain.OutcomeRejected && (q.Status != domain.RequestRejected || !reflect.DeepEqual(fxCodes(q.Reasons), fxCodes(e.Reasons))) {
			t.Fatalf("after a rejection the request is %s %v", q.Status, fxCodes(q.Reasons))
		}
	case domain.StateDecisionRecorded:
		q, _ := c.Request(e.RequestID)
		if e.Outcome == domain.OutcomeRejected && (q.Status != domain.RequestRejected || !reflect.DeepEqual(fxCodes(q.Reasons), fxCodes(e.Reasons))) {
			t.Fatalf("after a State rejection the request is %s %v", q.Status, fxCodes(q.Reasons))
		}
		if q.DecreeRef != e.DecreeRef {
			t.Fatalf("after a State decision the request's decree is %q, want %q", q.DecreeRef, e.DecreeRef)
		}
	case domain.AttestationIssued:
		a, ok := c.Attestation(e.Number)
		q, _ := c.Request(e.RequestID)
		if !ok || a.Status != domain.AttestationIssuedStatus || a.Amount != e.Amount || a.Bank != e.BankCode || a.SIREN != e.SIREN ||
			a.RequestID != e.RequestID || a.GuaranteeRate != e.GuaranteeRateBps || a.Fees != e.FeeScheduleBps || a.DecreeRef != e.DecreeRef || !a.IssuedAt.Equal(e.IssuedAt) {
			t.Fatalf("after %#v the attestation is %+v", e, a)
		}
		if q.Status != domain.RequestAttested || q.Attestation != e.Number || len(q.Reasons) != 0 {
			t.Fatalf("after %#v the request is %s, %s, %v", e, q.Status, q.Attestation, q.Reasons)
		}
	case domain.LoanGranted:
		a, _ := c.Attestation(e.Number)
		if a.Status != domain.AttestationGrantedStatus || a.GrantedAmount != e.GrantedAmount || a.GrantedOn != e.GrantedOn || a.DurationMonths != e.DurationMonths || !a.GrantedAt.Equal(e.GrantedAt) {
			t.Fatalf("after %#v the attestation is %+v", e, a)
		}
	case domain.AttestationCancelled:
		a, _ := c.Attestation(e.Number)
		if a.Status != domain.AttestationCancelledStatus || a.CancelReason != e.Reason || a.CancelledBy != e.CancelledBy || !a.CancelledAt.Equal(e.CancelledAt) || a.Active() {
			t.Fatalf("after %#v the attestation is %+v", e, a)
		}
	}
}

// fxStatuses snapshots the status of every request and attestation.
func fxStatuses(c *domain.Company) map[string]string {
	m := map[string]string{}
	for _, q := range c.Requests() {
		m["request "+q.ID] = string(q.Status)
	}
	for _, a := range c.Attestations() {
		m["attestation "+a.Number.String()] = string(a.Status)
	}
	return m
}

// fxLegal lists the legal status changes (DOMAIN.md §2); "" is a request
// recorded and not yet assessed (or assessed eligible, before its
// attestation, in the same append).
var fxLegal = map[string]bool{
	"request →":                             true,
	"request →attested":                     true,
	"request →rejected":                     true,
	"request →pending_state_review":         true,
	"request pending_state_review→attested": true,
	"request pending_state_review→rejected": true,
	"attestation issued→loan_granted":       true,
	"attestation issued→cancelled":          true,
}

// fxCheckStatusChanges checks that applying e changed statuses legally (f).
func fxCheckStatusChanges(t *rapid.T, before, after map[string]string, e domain.Event) {
	for k, old := range before {
		if _, ok := after[k]; !ok {
			t.Fatalf("%s disappeared after %s", k, e.EventType())
		}
		if nw := after[k]; nw != old && !fxLegal[strings.Fields(k)[0]+" "+old+"→"+nw] {
			t.Fatalf("(f) %s went from %q to %q on %s", k, old, nw, e.EventType())
		}
	}
	for k, nw := range after {
		if _, existed := before[k]; existed {
			continue
		}
		if strings.HasPrefix(k, "attestation ") && nw != string(domain.AttestationIssuedStatus) {
			t.Fatalf("(f) new %s starts as %q, not issued", k, nw)
		}
		if strings.HasPrefix(k, "request ") && nw != "" {
			t.Fatalf("(f) new %s starts as %q", k, nw)
		}
	}
}

func (r *fxRun) checkInvariants() {
	t := r.t
	// (a) the ceiling holds across all banks.
	count, active := r.c.Active()
	if active > r.ceiling {
		t.Fatalf("(a) active attestations total %s > ceiling %s", active, r.ceiling)
	}
	var sum domain.Cents
	n, early := 0, 0
	for _, a := range r.c.Attestations() {
		if a.Status == domain.AttestationIssuedStatus || a.Status == domain.AttestationGrantedStatus {
			sum += a.Amount
			n++
			if q, _ := r.c.Request(a.RequestID); !q.RequestedOn.After(fxOneAttestationUntil) {
				early++
			}
		}
	}
	if sum != active || n != count {
		t.Fatalf("Active() = %d, %s; the attestations say %d, %s", count, active, n, sum)
	}
	// (e) never two active attestations from requests dated up to 2020-04-30.
	if early > 1 {
		t.Fatalf("(e) %d active attestations from requests dated up to 2020-04-30", early)
	}
	// (b) rebuilding gives the same state; (c) so does rebuilding from the
	// decoded wire form.
	for name, evs := range map[string][]domain.Event{"events": r.events, "decoded events": r.decoded} {
		rebuilt, err := domain.RebuildCompany(fxSIREN, evs)
		if err != nil {
			t.Fatalf("(b) RebuildCompany from %s: %v", name, err)
		}
		fxSameState(t, name, r.c, rebuilt)
	}
}

// fxSameState compares two aggregates through their public view.
func fxSameState(t *rapid.T, name string, want, got *domain.Company) {
	if got.Version() != want.Version() {
		t.Fatalf("rebuilt from %s: version %d, want %d", name, got.Version(), want.Version())
	}
	gc, ga := got.Active()
	wc, wa := want.Active()
	if gc != wc || ga != wa {
		t.Fatalf("rebuilt from %s: Active() = %d, %s; want %d, %s", name, gc, ga, wc, wa)
	}
	if !fxDeepEqual(reflect.ValueOf(got.Requests()), reflect.ValueOf(want.Requests())) {
		t.Fatalf("rebuilt from %s: requests differ:\n got %+v\nwant %+v", name, got.Requests(), want.Requests())
	}
	if !fxDeepEqual(reflect.ValueOf(got.Attestations()), reflect.ValueOf(want.Attestations())) {
		t.Fatalf("rebuilt from %s: attestations differ:\n got %+v\nwant %+v", name, got.Attestations(), want.Attestations())
	}
	gp, gok := got.Profile()
	wp, wok := want.Profile()
	if gok != wok || !fxDeepEqual(reflect.ValueOf(gp), reflect.ValueOf(wp)) || got.Ceiling() != want.Ceiling() {
		t.Fatalf("rebuilt from %s: profile differs", name)
	}
}

// steps runs n decisions chosen by choose (0 submit, 1 grant, 2 cancel,
// 3 State decision), applying each one's events and checking (d).
func (r *fxRun) steps(n int, choose func() int) {
	t := r.t
	for r.step = 1; r.step <= n; r.step++ {
		var events []domain.Event
		var err error
		switch choose() {
		case 0:
			events, err = r.submit()
		case 1:
			events, err = r.grant()
		case 2:
			events, err = r.cancel()
		default:
			events, err = r.decide()
		}
		// (d) a decision that fails returns no events.
		if err != nil {
			if len(events) != 0 {
				t.Fatalf("(d) a decision failed with %v and returned %d events", err, len(events))
			}
			if !errors.Is(err, domain.ErrInvalid) && !errors.Is(err, domain.ErrNotFound) && !errors.Is(err, domain.ErrConflict) {
				t.Fatalf("error %v is of no documented kind", err)
			}
			continue
		}
		version := r.c.Version()
		r.apply(events)
		if r.c.Version() != version+uint64(len(events)) {
			t.Fatalf("version %d after %d events from %d", r.c.Version(), len(events), version)
		}
	}
}

func fxNewRun(t *rapid.T, profile domain.CompanyProfile) *fxRun {
	r := &fxRun{t: t, profile: profile, c: domain.NewCompany(fxSIREN), ceiling: domain.Ceiling(profile), outcomes: map[string]int{}}
	if r.ceiling != fxModelCeiling(profile) {
		t.Fatalf("Ceiling(%+v) = %s, DOMAIN.md §3.6 says %s", profile, r.ceiling, fxModelCeiling(profile))
	}
	return r
}

// fxRequireReached fails unless every outcome in want was reached.
func fxRequireReached(t *testing.T, totals map[string]int, want ...string) {
	t.Logf("outcomes over all runs: %v", totals)
	for _, k := range want {
		if totals[k] == 0 {
			t.Errorf("no run reached %q: the generators need tuning", k)
		}
	}
}

// TestPropertyCompanyCommandSequencesKeepTheInvariants is the stateful
// property test described at the top of this file.
func TestPropertyCompanyCommandSequencesKeepTheInvariants(t *testing.T) {
	totals := map[string]int{}
	rapid.Check(t, func(t *rapid.T) {
		r := fxNewRun(t, fxGenProfile(t))
		r.steps(rapid.IntRange(5, 40).Draw(t, "steps"), func() int {
			if fxHasPending(r.c) && fxOneIn(t, "decideNow", 3) {
				return 3
			}
			return []int{0, 0, 0, 0, 1, 1, 2, 2, 3, 3}[rapid.IntRange(0, 9).Draw(t, "action")]
		})
		for k, v := range r.outcomes {
			totals[k] += v
		}
	})
	// The runs must exercise every path, or the invariants prove nothing.
	fxRequireReached(t, totals, domain.OutcomeEligible, domain.OutcomeRejected, domain.OutcomePendingStateReview,
		"granted", "cancelled", "decided-"+domain.OutcomeAttested, "decided-"+domain.OutcomeRejected)
}

// TestPropertyStateDecisionsRecheckTheRulesAtDecisionTime: a large company
// (§5) piles up requests pending State review, from several banks, then the
// State decides them in any order. An approval issues the attestation only
// if the rules still hold when it is recorded (the ceiling across all banks,
// one attestation until 2020-04-30); the invariants hold throughout.
func TestPropertyStateDecisionsRecheckTheRulesAtDecisionTime(t *testing.T) {
	totals := map[string]int{}
	rapid.Check(t, func(t *rapid.T) {
		p := fxGenProfile(t)
		p.LegalForm, p.CollectiveProceeding = "SA", domain.CollectiveProceeding{Kind: domain.ProceedingNone}
		p.NAF, _ = domain.ParseNAF("29.10Z")
		p.Headcount = rapid.Int64Range(5_000, 200_000).Draw(t, "largeHeadcount")
		r := fxNewRun(t, p)
		r.steps(rapid.IntRange(4, 30).Draw(t, "steps"), func() int {
			return []int{0, 0, 0, 0, 2, 3, 3, 3, 3, 3}[rapid.IntRange(0, 9).Draw(t, "action")]
		})
		for k, v := range r.outcomes {
			totals[k] += v
		}
	})
	fxRequireReached(t, totals, domain.OutcomePendingStateReview, "cancelled",
		"decided-"+domain.OutcomeAttested, "decided-"+domain.OutcomeRejected, "decided-rules-no-longer-hold")
}

// TestCompanyViewsAreCopiesThatDoNotAliasTheAggregate: Request, Requests and
// Profile say they return copies; changing what they return must not change
// the aggregate (nor the recorded events it was built from).
func TestCompanyViewsAreCopiesThatDoNotAliasTheAggregate(t *testing.T) {
	naf, _ := domain.ParseNAF("56.10A")
	region, _ := domain.ParseRegion("11")
	bank, _ := domain.ParseBankCode("30004")
	bs := domain.Cents(1_000_000_00)
	opened := domain.MustDate("2020-02-01") // not excluding on 2020-05-04: attested, so the company has a profile
	profile := domain.CompanyProfile{
		Name: "Boulangerie", LegalForm: "SARL", NAF: naf, Region: region, Headcount: 8,
		Turnover: 1_000_000_00, BalanceSheet: &bs, Payroll: 300_000_00, CreatedOn: domain.MustDate("2010-01-01"),
		CollectiveProceeding: domain.CollectiveProceeding{Kind: domain.ProceedingSafeguard, OpenedOn: &opened},
	}
	c := domain.NewCompany(fxSIREN)
	events, err := c.SubmitLoanRequest(domain.SubmitLoanRequest{
		RequestID: "r1", SIREN: fxSIREN, Bank: bank, Amount: 100_000_00, RequestedOn: domain.MustDate("2020-05-04"),
		Profile: profile, Number: domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{1}),
		By: domain.Actor{Role: domain.RoleBank, ID: "30004"},
	}, fxBase)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := c.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	mutate := func(p *domain.CompanyProfile) {
		*p.BalanceSheet = 1
		*p.CollectiveProceeding.OpenedOn = domain.MustDate("1999-01-01")
	}
	check := func(what string) {
		t.Helper()
		got, _ := c.Request("r1")
		if *got.Profile.BalanceSheet != 1_000_000_00 || *got.Profile.CollectiveProceeding.OpenedOn != opened {
			t.Errorf("after changing what %s returned, the aggregate's request has balance sheet %d, proceeding opened %s",
				what, *got.Profile.BalanceSheet, got.Profile.CollectiveProceeding.OpenedOn)
		}
		// Restore for the next check.
		*got.Profile.BalanceSheet = 1_000_000_00
		*got.Profile.CollectiveProceeding.OpenedOn = opened
	}
	q, _ := c.Request("r1")
	mutate(&q.Profile)
	check("Request")
	qs := c.Requests()
	mutate(&qs[0].Profile)
	check("Requests")
	p, _ := c.Profile()
	mutate(&p)
	check("Profile")
}

// fxRank orders the size categories.
var fxRank = map[domain.SizeCategory]int{domain.SizeMicro: 0, domain.SizeSME: 1, domain.SizeMidcap: 2, domain.SizeLarge: 3}

// TestPropertyPureRuleFunctionsAreMonotoneAndTotal: ClassifySize,
// GuaranteeRate, Fees, IsLargeCompany and Ceiling never panic on any input,
// and are monotone where DOMAIN.md §3.6, §4, §5 and §6 imply it: a bigger
// company (more people, more turnover, a bigger or missing balance sheet) is
// never in a smaller category, never gets a higher guarantee rate or the
// SMEs' fees back, never stops being large; the ceiling grows with turnover
// and payroll and is never negative.
func TestPropertyPureRuleFunctionsAreMonotoneAndTotal(t *testing.T) {
	anyCents := rapid.Custom(func(t *rapid.T) domain.Cents {
		return domain.Cents(rapid.OneOf(
			rapid.Int64Range(0, 3_000_000_000_00),
			rapid.SampledFrom([]int64{0, 2_000_000_00, 2_000_000_01, 43_000_000_00, 43_000_000_01, 50_000_000_00, 50_000_000_01,
				1_500_000_000_00 - 1, 1_500_000_000_00, 2_000_000_000_00, 2_000_000_000_01, 5_000_000_000_00, 5_000_000_000_01}),
			rapid.Int64Range(0, int64(domain.MaxCents)),
		).Draw(t, "cents"))
	})
	anyHeadcount := rapid.OneOf(rapid.Int64Range(0, 6_000), rapid.SampledFrom([]int64{9, 10, 249, 250, 251, 4_999, 5_000}), rapid.Int64Range(0, 10_000_000))
	optBS := rapid.Custom(func(t *rapid.T) *domain.Cents {
		if fxOneIn(t, "nilBS", 4) {
			return nil
		}
		c := anyCents.Draw(t, "bs")
		return &c
	})
	larger := func(f domain.FeeSchedule) bool { return f == domain.LargerFeeSchedule }
	rapid.Check(t, func(t *rapid.T) {
		h1, h2 := anyHeadcount.Draw(t, "h1"), anyHeadcount.Draw(t, "h2")
		if h1 > h2 {
			h1, h2 = h2, h1
		}
		t1, t2 := anyCents.Draw(t, "t1"), anyCents.Draw(t, "t2")
		if t1 > t2 {
			t1, t2 = t2, t1
		}
		bs1, bs2 := optBS.Draw(t, "bs1"), optBS.Draw(t, "bs2")
		// Order the balance sheets: nil ("missing") counts as the biggest
		// for §6 (it never meets "≤ limit") and as none for §4 (it never
		// meets "> 43 M €").
		if bs1 == nil || (bs2 != nil && *bs1 > *bs2) {
			bs1, bs2 = bs2, bs1
		}

		// §6 size category.
		if fxRank[domain.ClassifySize(h1, t1, bs1)] > fxRank[domain.ClassifySize(h2, t1, bs1)] ||
			fxRank[domain.ClassifySize(h1, t1, bs1)] > fxRank[domain.ClassifySize(h1, t2, bs1)] ||
			fxRank[domain.ClassifySize(h1, t1, bs1)] > fxRank[domain.ClassifySize(h1, t1, bs2)] ||
			fxRank[domain.ClassifySize(h1, t1, bs1)] > fxRank[domain.ClassifySize(h2, t2, bs2)] {
			t.Fatalf("ClassifySize not monotone between (%d, %d, %v) and (%d, %d, %v)", h1, t1, bs1, h2, t2, bs2)
		}
		if _, ok := fxRank[domain.ClassifySize(h2, t2, bs2)]; !ok {
			t.Fatalf("ClassifySize gave an unknown category")
		}
		// §4 guarantee rate: non-increasing, one of 90/80/70 %.
		g11, g21, g12 := domain.GuaranteeRate(h1, t1), domain.GuaranteeRate(h2, t1), domain.GuaranteeRate(h1, t2)
		for _, g := range []domain.BasisPoints{g11, g21, g12} {
			if g != 9000 && g != 8000 && g != 7000 {
				t.Fatalf("GuaranteeRate = %d", g)
			}
		}
		if g21 > g11 || g12 > g11 || domain.GuaranteeRate(h2, t2) > g11 {
			t.Fatalf("GuaranteeRate grows: (%d,%d)→%d, (%d,%d)→%d, (%d,%d)→%d", h1, t1, g11, h2, t1, g21, h1, t2, g12)
		}
		// §4 fees: once the larger companies' schedule, always.
		f := domain.Fees(h1, t1, bs1)
		if f != domain.SMEFeeSchedule && f != domain.LargerFeeSchedule {
			t.Fatalf("Fees = %v", f)
		}
		bsForFees1, bsForFees2 := bs1, bs2 // nil means no balance sheet: the smallest for §4
		if bsForFees2 == nil || (bsForFees1 != nil && *bsForFees1 > *bsForFees2) {
			bsForFees1, bsForFees2 = bsForFees2, bsForFees1
		}
		if larger(domain.Fees(h1, t1, bsForFees1)) && (!larger(domain.Fees(h2, t1, bsForFees1)) ||
			!larger(domain.Fees(h1, t2, bsForFees1)) || !larger(domain.Fees(h1, t1, bsForFees2))) {
			t.Fatalf("Fees not monotone from (%d, %d, %v)", h1, t1, bsForFees1)
		}
		zero := domain.Cents(0)
		if domain.Fees(h1, t1, nil) != domain.Fees(h1, t1, &zero) {
			t.Fatalf("a missing balance sheet does not count as not meeting the §4 test")
		}
		// §5 large companies: monotone, and the same thresholds as the 90 % rate.
		if domain.IsLargeCompany(h1, t1) && (!domain.IsLargeCompany(h2, t1) || !domain.IsLargeCompany(h1, t2)) {
			t.Fatalf("IsLargeCompany not monotone from (%d, %d)", h1, t1)
		}
		if domain.IsLargeCompany(h1, t1) != (g11 != 9000) {
			t.Fatalf("(%d, %d): IsLargeCompany %v but guarantee %d", h1, t1, domain.IsLargeCompany(h1, t1), g11)
		}

		// §3.6 ceiling.
		p := domain.CompanyProfile{
			Turnover: t1, Payroll: anyCents.Draw(t, "payroll"), Innovative: rapid.Bool().Draw(t, "innovative"),
			CreatedOn: domain.MustDate("2000-01-01").AddDays(rapid.IntRange(0, 8000).Draw(t, "createdDays")),
		}
		c := domain.Ceiling(p)
		if c < 0 || c != fxModelCeiling(p) {
			t.Fatalf("Ceiling(%+v) = %d, want %d", p, c, fxModelCeiling(p))
		}
		q := p
		q.Turnover = t2
		if domain.Ceiling(q) < c {
			t.Fatalf("Ceiling falls when turnover grows from %d to %d", t1, t2)
		}
		q = p
		q.Payroll = p.Payroll + domain.Cents(rapid.Int64Range(0, 1_000_000_00).Draw(t, "morePayroll"))
		if domain.Ceiling(q) < c {
			t.Fatalf("Ceiling falls when payroll grows")
		}
		q = p
		q.Innovative = true
		if domain.Ceiling(q) < c {
			t.Fatalf("Ceiling falls for an innovative company")
		}
		if p.CreatedOn.Before(domain.MustDate("2019-01-01")) && !p.Innovative && (4*c > p.Turnover || 4*c+4 <= p.Turnover) {
			t.Fatalf("Ceiling(%d turnover) = %d, not 25 %% rounded down to the cent", p.Turnover, c)
		}
	})
	// Never panic, whatever the input (negative figures included).
	rapid.Check(t, func(t *rapid.T) {
		h := rapid.Int64().Draw(t, "h")
		tv := domain.Cents(rapid.Int64().Draw(t, "t"))
		bs := domain.Cents(rapid.Int64().Draw(t, "bs"))
		_ = domain.ClassifySize(h, tv, &bs)
		_ = domain.ClassifySize(h, tv, nil)
		_ = domain.GuaranteeRate(h, tv)
		_ = domain.Fees(h, tv, &bs)
		_ = domain.Fees(h, tv, nil)
		_ = domain.IsLargeCompany(h, tv)
		_ = domain.Ceiling(domain.CompanyProfile{Turnover: tv, Payroll: bs, Innovative: rapid.Bool().Draw(t, "i")})
	})
}
