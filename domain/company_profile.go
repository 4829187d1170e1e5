package domain

import (
	"fmt"
	"strings"
)

// ProceedingKind is a kind of collective proceeding (procédure collective).
type ProceedingKind string

// Kinds of collective proceeding.
//
// WARNING: these values are a persisted and public contract.
const (
	ProceedingNone         ProceedingKind = "none"
	ProceedingSafeguard    ProceedingKind = "safeguard"
	ProceedingReceivership ProceedingKind = "receivership"
	ProceedingLiquidation  ProceedingKind = "liquidation"
)

// CollectiveProceeding is the company's collective proceeding, if any.
type CollectiveProceeding struct {
	// Kind is required.
	Kind ProceedingKind `json:"kind"`
	// OpenedOn is required for any kind but "none", and absent for "none".
	OpenedOn *Date `json:"openedOn"`
}

// CompanyProfile is what a loan request declares about the company: its
// identity, activity and last closed year's figures (2019).
type CompanyProfile struct {
	Name      string     `json:"name"`
	LegalForm string     `json:"legalForm"`
	NAF       NAFCode    `json:"nafCode"`
	Region    RegionCode `json:"regionCode"`
	// Headcount is in full-time equivalents.
	Headcount int64 `json:"headcount"`
	// Turnover is without VAT.
	Turnover Cents `json:"turnoverCents"`
	// BalanceSheet is optional: nil when not given.
	BalanceSheet *Cents `json:"balanceSheetCents,omitempty"`
	// Payroll in France of the last closed year or, for a company created
	// on or after 2019-01-01, its estimated payroll for its first two years.
	Payroll              Cents                `json:"payrollCents"`
	CreatedOn            Date                 `json:"createdOn"`
	Innovative           bool                 `json:"innovative"`
	CollectiveProceeding CollectiveProceeding `json:"collectiveProceeding"`
}

// maxHeadcount bounds headcounts far above any company's.
const maxHeadcount = 10_000_000

// Validate checks every field of p as input and returns a
// *ValidationError listing all problems, with field paths under prefix
// (e.g. "company."). The closed lists (NAF rév. 2, legal forms) and the
// free-text rules apply (DOMAIN.md §7).
func (p CompanyProfile) Validate(prefix string) error {
	var v validator
	p.validate(&v, prefix, true)
	return v.err()
}

// checkRecorded checks a profile read back from a recorded event: what
// every recorded profile has, without the input rules added since (closed
// lists, free text), so that facts recorded before them still read back.
func (p CompanyProfile) checkRecorded(prefix string) error {
	var v validator
	p.validate(&v, prefix, false)
	return v.err()
}

// validate checks p; input adds the rules that apply to new input only.
func (p CompanyProfile) validate(v *validator, prefix string, input bool) {
	switch {
	case strings.TrimSpace(p.Name) == "":
		v.add(prefix+"name", "is required")
	case len(p.Name) > 200:
		v.add(prefix+"name", "must be at most 200 bytes")
	case input:
		v.check(prefix+"name", checkFreeText(p.Name))
	}
	switch lf := strings.TrimSpace(p.LegalForm); {
	case lf == "":
		v.add(prefix+"legalForm", "is required")
	case len(lf) > 32:
		v.add(prefix+"legalForm", "must be at most 32 bytes")
	case input:
		v.check(prefix+"legalForm", checkLegalForm(p.LegalForm))
	}
	switch {
	case p.NAF.s == "":
		v.add(prefix+"nafCode", "is required")
	case input && !p.NAF.Known():
		v.add(prefix+"nafCode", "NAF code %q is not a sub-class of INSEE's NAF rév. 2", p.NAF.s)
	}
	if p.Region.s == "" {
		v.add(prefix+"regionCode", "is required")
	}
	if p.Headcount < 0 || p.Headcount > maxHeadcount {
		v.add(prefix+"headcount", "must be from 0 to %d", maxHeadcount)
	}
	v.check(prefix+"turnoverCents", checkCents(p.Turnover))
	if p.BalanceSheet != nil {
		v.check(prefix+"balanceSheetCents", checkCents(*p.BalanceSheet))
	}
	v.check(prefix+"payrollCents", checkCents(p.Payroll))
	if p.CreatedOn.IsZero() {
		v.add(prefix+"createdOn", "is required")
	}
	cp := p.CollectiveProceeding
	switch cp.Kind {
	case ProceedingNone:
		if cp.OpenedOn != nil {
			v.add(prefix+"collectiveProceeding.openedOn", "must be null when kind is none")
		}
	case ProceedingSafeguard, ProceedingReceivership, ProceedingLiquidation:
		if cp.OpenedOn == nil || cp.OpenedOn.IsZero() {
			v.add(prefix+"collectiveProceeding.openedOn", "is required when kind is %s", cp.Kind)
		}
	default:
		v.add(prefix+"collectiveProceeding.kind", "must be none, safeguard, receivership or liquidation, not %q", cp.Kind)
	}
}

func checkCents(c Cents) error {
	_, err := NewCents(int64(c))
	return err
}

// clone returns a deep copy of p: its pointer fields are not shared.
func (p CompanyProfile) clone() CompanyProfile {
	if p.BalanceSheet != nil {
		bs := *p.BalanceSheet
		p.BalanceSheet = &bs
	}
	if p.CollectiveProceeding.OpenedOn != nil {
		d := *p.CollectiveProceeding.OpenedOn
		p.CollectiveProceeding.OpenedOn = &d
	}
	return p
}

// normalised returns p with its free-text fields trimmed and the legal form
// in capitals, as given (an abbreviation or a 4-digit code: what the bank
// sent is what is recorded; LegalFormCode maps it).
func (p CompanyProfile) normalised() CompanyProfile {
	p = p.clone()
	p.Name = strings.TrimSpace(p.Name)
	if lf, ok := normaliseLegalForm(p.LegalForm); ok {
		p.LegalForm = lf
	} else {
		p.LegalForm = strings.ToUpper(strings.TrimSpace(p.LegalForm))
	}
	return p
}

// proceedingOpenOn reports whether the profile declares a collective
// proceeding opened on or before d.
func (p CompanyProfile) proceedingOpenOn(d Date) bool {
	cp := p.CollectiveProceeding
	return cp.Kind != ProceedingNone && cp.OpenedOn != nil && !cp.OpenedOn.After(d)
}

// String names the company for logs.
func (p CompanyProfile) String() string { return fmt.Sprintf("%s (%s)", p.Name, p.LegalForm) }
