package httpapi

import (
	"fmt"

	"golang.org/x/text/unicode/norm"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/handlers"
)

// Request bodies as sent by clients: plain JSON types, so that every
// invalid field is reported at once, with its path.

type loanRequestBody struct {
	SIREN       string       `json:"siren"`
	BankCode    string       `json:"bankCode"`
	AmountCents *int64       `json:"amountCents"`
	RequestedOn *string      `json:"requestedOn"`
	Company     *companyBody `json:"company"`
}

type companyBody struct {
	Name                 string          `json:"name"`
	LegalForm            string          `json:"legalForm"`
	NAFCode              string          `json:"nafCode"`
	RegionCode           string          `json:"regionCode"`
	Headcount            *int64          `json:"headcount"`
	TurnoverCents        *int64          `json:"turnoverCents"`
	BalanceSheetCents    *int64          `json:"balanceSheetCents"`
	PayrollCents         *int64          `json:"payrollCents"`
	CreatedOn            string          `json:"createdOn"`
	Innovative           bool            `json:"innovative"`
	CollectiveProceeding *proceedingBody `json:"collectiveProceeding"`
}

type proceedingBody struct {
	Kind     string  `json:"kind"`
	OpenedOn *string `json:"openedOn"`
}

type stateDecisionBody struct {
	Approved  *bool  `json:"approved"`
	DecreeRef string `json:"decreeRef"`
}

type grantBody struct {
	GrantedAmountCents *int64 `json:"grantedAmountCents"`
	GrantedOn          string `json:"grantedOn"`
	DurationMonths     *int   `json:"durationMonths"`
}

type cancelBody struct {
	Reason string `json:"reason"`
}

// freeText puts a free-text field (a company name, a decree reference, a
// cancellation reason) in Unicode Normalization Form C, so that the same
// text typed on different systems ("é" as one code point or as "e" and a
// combining accent) is recorded, compared and shown the same. It is done
// here, where input is decoded, because the domain imports only the
// standard library, which has no normalisation tables; the domain then
// refuses control, bidirectional and invisible-only text (DOMAIN.md §7).
func freeText(s string) string { return norm.NFC.String(s) }

// fields collects field errors while parsing a body.
type fields struct{ errs []domain.FieldError }

func (f *fields) add(field, msg string) {
	f.errs = append(f.errs, domain.FieldError{Field: field, Message: msg})
}

func (f *fields) err() error {
	if len(f.errs) == 0 {
		return nil
	}
	return &domain.ValidationError{Errors: f.errs}
}

// parse runs a parser on a required string field.
func parse[T any](f *fields, field, s string, p func(string) (T, error)) T {
	var zero T
	if s == "" {
		f.add(field, "is required")
		return zero
	}
	v, err := p(s)
	if err != nil {
		f.add(field, err.Error())
		return zero
	}
	return v
}

// cents checks a required amount field (not negative; positive if
// positive is set).
func cents(f *fields, field string, v *int64, positive bool) domain.Cents {
	if v == nil {
		f.add(field, "is required")
		return 0
	}
	var c domain.Cents
	var err error
	if positive {
		c, err = domain.NewPositiveCents(*v)
	} else {
		c, err = domain.NewCents(*v)
	}
	if err != nil {
		f.add(field, err.Error())
	}
	return c
}

// toSubmit turns a loan request body into the command's input; today is the
// default business date.
func (b loanRequestBody) toSubmit(today domain.Date) (handlers.SubmitLoanRequest, error) {
	var f fields
	in := handlers.SubmitLoanRequest{
		SIREN:       parse(&f, "siren", b.SIREN, domain.ParseSIREN),
		Bank:        parse(&f, "bankCode", b.BankCode, domain.ParseBankCode),
		Amount:      cents(&f, "amountCents", b.AmountCents, true),
		RequestedOn: today,
	}
	if b.RequestedOn != nil {
		in.RequestedOn = parse(&f, "requestedOn", *b.RequestedOn, domain.ParseDate)
	}
	if b.Company == nil {
		f.add("company", "is required")
		return in, f.err()
	}
	c := b.Company
	p := domain.CompanyProfile{
		Name:       freeText(c.Name),
		LegalForm:  c.LegalForm,
		NAF:        parse(&f, "company.nafCode", c.NAFCode, domain.ParseNAF),
		Region:     parse(&f, "company.regionCode", c.RegionCode, domain.ParseRegion),
		Turnover:   cents(&f, "company.turnoverCents", c.TurnoverCents, false),
		Payroll:    cents(&f, "company.payrollCents", c.PayrollCents, false),
		CreatedOn:  parse(&f, "company.createdOn", c.CreatedOn, domain.ParseDate),
		Innovative: c.Innovative,
	}
	if c.Headcount == nil {
		f.add("company.headcount", "is required")
	} else {
		p.Headcount = *c.Headcount
	}
	if c.BalanceSheetCents != nil {
		bs := cents(&f, "company.balanceSheetCents", c.BalanceSheetCents, false)
		p.BalanceSheet = &bs
	}
	if cp := c.CollectiveProceeding; cp == nil {
		p.CollectiveProceeding = domain.CollectiveProceeding{Kind: domain.ProceedingNone}
	} else {
		p.CollectiveProceeding.Kind = domain.ProceedingKind(cp.Kind)
		if cp.Kind == "" {
			p.CollectiveProceeding.Kind = domain.ProceedingNone
		}
		if cp.OpenedOn != nil {
			d := parse(&f, "company.collectiveProceeding.openedOn", *cp.OpenedOn, domain.ParseDate)
			p.CollectiveProceeding.OpenedOn = &d
		}
	}
	in.Profile = p
	if err := f.err(); err != nil {
		return in, err
	}
	// The domain checks the rest (names, headcount range, proceedings…).
	return in, p.Validate("company.")
}

func (b stateDecisionBody) toCommand(requestID string) (handlers.RecordStateDecision, error) {
	var f fields
	if b.Approved == nil {
		f.add("approved", "is required")
		return handlers.RecordStateDecision{}, f.err()
	}
	return handlers.RecordStateDecision{RequestID: requestID, Approved: *b.Approved, DecreeRef: freeText(b.DecreeRef)}, nil
}

func (b grantBody) toCommand(n domain.AttestationNumber) (handlers.GrantLoan, error) {
	var f fields
	in := handlers.GrantLoan{
		Number:    n,
		Amount:    cents(&f, "grantedAmountCents", b.GrantedAmountCents, true),
		GrantedOn: parse(&f, "grantedOn", b.GrantedOn, domain.ParseDate),
	}
	if b.DurationMonths == nil {
		f.add("durationMonths", "is required")
	} else if m := *b.DurationMonths; m < domain.MinDurationMonths || m > domain.MaxDurationMonths {
		f.add("durationMonths", fmt.Sprintf("must be from %d to %d months", domain.MinDurationMonths, domain.MaxDurationMonths))
	} else {
		in.DurationMonths = m
	}
	return in, f.err()
}
