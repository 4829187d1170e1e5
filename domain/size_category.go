package domain

// SizeCategory is a company size category of decree 2008-1354, used for
// statistics (DOMAIN.md §6).
//
// WARNING: these values are a persisted and public contract.
type SizeCategory string

// Size categories.
const (
	SizeMicro  SizeCategory = "micro"
	SizeSME    SizeCategory = "sme"
	SizeMidcap SizeCategory = "midcap"
	SizeLarge  SizeCategory = "large"
)

// Label returns the category's French name.
func (s SizeCategory) Label() string {
	switch s {
	case SizeMicro:
		return "Microentreprise"
	case SizeSME:
		return "PME"
	case SizeMidcap:
		return "ETI"
	case SizeLarge:
		return "Grande entreprise"
	}
	return string(s)
}

// Thresholds of decree 2008-1354.
const (
	microHeadcount     = 10
	microTurnover      = Cents(2_000_000_00)
	microBalanceSheet  = Cents(2_000_000_00)
	smeHeadcount       = 250
	smeTurnover        = Cents(50_000_000_00)
	smeBalanceSheet    = Cents(43_000_000_00)
	midcapHeadcount    = 5_000
	midcapTurnover     = Cents(1_500_000_000_00)
	midcapBalanceSheet = Cents(2_000_000_000_00)
)

// ClassifySize returns the size category of a company (DOMAIN.md §6): the
// first row that matches wins, and a missing balance sheet does not meet the
// balance-sheet test. This classifier is for statistics only: the guarantee
// and fee thresholds (§4) and the large-company rule (§5) are other rules.
func ClassifySize(headcount int64, turnover Cents, balanceSheet *Cents) SizeCategory {
	bsAtMost := func(limit Cents) bool { return balanceSheet != nil && *balanceSheet <= limit }
	switch {
	case headcount < microHeadcount && (turnover <= microTurnover || bsAtMost(microBalanceSheet)):
		return SizeMicro
	case headcount < smeHeadcount && (turnover <= smeTurnover || bsAtMost(smeBalanceSheet)):
		return SizeSME
	case headcount < midcapHeadcount && (turnover <= midcapTurnover || bsAtMost(midcapBalanceSheet)):
		return SizeMidcap
	default:
		return SizeLarge
	}
}

// SizeCategory returns the profile's size category.
func (p CompanyProfile) SizeCategory() SizeCategory {
	return ClassifySize(p.Headcount, p.Turnover, p.BalanceSheet)
}
