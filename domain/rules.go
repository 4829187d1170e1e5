package domain

import "fmt"

// RuleSet is the eligibility rules in force for a range of business dates
// (DOMAIN.md §3). The assessment records its Version.
type RuleSet struct {
	// Version names the rule set by the date of the text that set it.
	//
	// WARNING: a persisted and public contract.
	Version string
	// From is the first business date the rule set applies to.
	From Date
	// proceedingExcludes reports whether a declared collective proceeding
	// excludes the company for a request on requestedOn.
	proceedingExcludes func(p CompanyProfile, requestedOn Date) bool
}

// The programme window and the dates at which rules changed.
var (
	ProgrammeStart       = MustDate("2020-03-16")
	ProgrammeEnd         = MustDate("2022-06-30")
	oneAttestationUntil  = MustDate("2020-04-30")
	proceedingsCutoff    = MustDate("2020-01-01")
	amendedFinanceLawDay = MustDate("2020-04-26")
)

// excludedNAF are the activities of credit institutions and finance
// companies (DOMAIN.md §3.3).
var excludedNAF = map[string]bool{"64.11Z": true, "64.19Z": true, "64.92Z": true}

// ruleSets lists the rule sets, oldest first.
var ruleSets = []RuleSet{
	{
		Version: "2020-03-23",
		From:    ProgrammeStart,
		// Any proceeding open at the request date excludes.
		proceedingExcludes: func(p CompanyProfile, requestedOn Date) bool {
			return p.proceedingOpenOn(requestedOn)
		},
	},
	{
		Version: "2020-04-26",
		From:    amendedFinanceLawDay,
		// Amending finance law of 25 April 2020: only a proceeding opened
		// before 2020-01-01 excludes.
		proceedingExcludes: func(p CompanyProfile, requestedOn Date) bool {
			return p.proceedingOpenOn(requestedOn) && p.CollectiveProceeding.OpenedOn.Before(proceedingsCutoff)
		},
	},
}

// RulesFor returns the rule set in force on a business date: the last one
// whose From is not after it (the first one for dates before the programme,
// which the window rule then rejects).
func RulesFor(requestedOn Date) RuleSet {
	rs := ruleSets[0]
	for _, r := range ruleSets[1:] {
		if !requestedOn.Before(r.From) {
			rs = r
		}
	}
	return rs
}

// Application is what eligibility is assessed on: a request and what the
// company already holds.
type Application struct {
	Profile     CompanyProfile
	Amount      Cents
	RequestedOn Date
	// ActiveCount and ActiveAmount are the company's attestations that are
	// issued or granted (not cancelled), across all banks.
	ActiveCount  int
	ActiveAmount Cents
}

// Assessment is the outcome of applying a rule set to an application.
type Assessment struct {
	RulesVersion string
	// Reasons lists every rule the application breaks, in the order of
	// DOMAIN.md §3; empty when eligible.
	Reasons []Reason
	// StateReview is true when the application is otherwise eligible but
	// the company is large (§5): the State decides.
	StateReview bool
	Ceiling     Cents
	// RemainingCeiling is the ceiling less the active amount, before this
	// request (never negative).
	RemainingCeiling Cents
	SizeCategory     SizeCategory
	GuaranteeRate    BasisPoints
	Fees             FeeSchedule
}

// Eligible reports whether the application breaks no rule.
func (a Assessment) Eligible() bool { return len(a.Reasons) == 0 }

// Assess applies the rule set in force on the application's business date
// and returns every reason that applies. It is pure.
func Assess(app Application) Assessment {
	rs := RulesFor(app.RequestedOn)
	p := app.Profile
	a := Assessment{
		RulesVersion:  rs.Version,
		Ceiling:       Ceiling(p),
		SizeCategory:  p.SizeCategory(),
		GuaranteeRate: GuaranteeRate(p.Headcount, p.Turnover),
		Fees:          Fees(p.Headcount, p.Turnover, p.BalanceSheet),
	}
	if app.ActiveAmount < a.Ceiling {
		a.RemainingCeiling = a.Ceiling - app.ActiveAmount
	}
	reject := func(code ReasonCode, format string, args ...any) {
		a.Reasons = append(a.Reasons, Reason{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if app.RequestedOn.Before(ProgrammeStart) || app.RequestedOn.After(ProgrammeEnd) {
		reject(ReasonOutsideProgrammeWindow, "requests are accepted from %s to %s; requested on %s", ProgrammeStart, ProgrammeEnd, app.RequestedOn)
	}
	if excludedLegalForm(p.LegalForm) {
		reject(ReasonExcludedLegalForm, "real-estate civil companies (SCI and the other catégories juridiques 654x) are excluded; legal form %s", p.LegalForm)
	}
	if excludedNAF[p.NAF.String()] {
		reject(ReasonExcludedCreditInstitution, "credit institutions and finance companies (NAF %s) are excluded", p.NAF)
	}
	if rs.proceedingExcludes(p, app.RequestedOn) {
		reject(ReasonCollectiveProceeding, "a collective proceeding (%s, opened on %s) excludes the company under rules %s", p.CollectiveProceeding.Kind, p.CollectiveProceeding.OpenedOn, rs.Version)
	}
	if !app.RequestedOn.After(oneAttestationUntil) && app.ActiveCount > 0 {
		// Neither the count nor the holder: another bank's business.
		reject(ReasonOneAttestationUntilMay, "until %s a company may hold only one active attestation at a time", oneAttestationUntil)
	}
	if app.ActiveAmount+app.Amount > a.Ceiling {
		// The headroom left for this request, no more: never what other
		// banks hold, nor how many attestations.
		reject(ReasonCeilingExceeded, "%s was requested; %s remains under the ceiling for this request", app.Amount, a.RemainingCeiling)
	}
	a.StateReview = a.Eligible() && IsLargeCompany(p.Headcount, p.Turnover)
	return a
}
