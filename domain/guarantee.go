package domain

// Thresholds of the guarantee (DOMAIN.md §4) and of the large-company rule
// (§5). They are not the size-category thresholds of §6.
const (
	guaranteeHeadcount    = 5_000
	guaranteeTurnover90   = Cents(1_500_000_000_00) // below: 90 %
	guaranteeTurnover80   = Cents(5_000_000_000_00) // up to: 80 %, above: 70 %
	feeLargerHeadcount    = 250
	feeLargerTurnover     = Cents(50_000_000_00)
	feeLargerBalanceSheet = Cents(43_000_000_00)
	largeCompanyHeadcount = 5_000
	largeCompanyTurnover  = Cents(1_500_000_000_00)
)

// FeeSchedule is the yearly guarantee fee, in basis points of the
// guaranteed amount, for years 1 to 6 of the loan.
type FeeSchedule [6]BasisPoints

// Fee schedules (DOMAIN.md §4).
var (
	SMEFeeSchedule    = FeeSchedule{25, 50, 50, 100, 100, 100}
	LargerFeeSchedule = FeeSchedule{50, 100, 100, 200, 200, 200}
)

// GuaranteeRate returns the State-guaranteed share of the loan (DOMAIN.md
// §4): 90 % below 5,000 people and 1.5 bn € of turnover, else 80 % up to
// 5 bn € of turnover, else 70 %.
func GuaranteeRate(headcount int64, turnover Cents) BasisPoints {
	switch {
	case headcount < guaranteeHeadcount && turnover < guaranteeTurnover90:
		return 9000
	case turnover <= guaranteeTurnover80:
		return 8000
	default:
		return 7000
	}
}

// Fees returns the fee schedule (DOMAIN.md §4): the larger companies' one
// above 250 people, or above both 50 M € of turnover and 43 M € of balance
// sheet (a missing balance sheet does not meet that test); the SMEs' one
// otherwise.
func Fees(headcount int64, turnover Cents, balanceSheet *Cents) FeeSchedule {
	larger := headcount > feeLargerHeadcount ||
		(turnover > feeLargerTurnover && balanceSheet != nil && *balanceSheet > feeLargerBalanceSheet)
	if larger {
		return LargerFeeSchedule
	}
	return SMEFeeSchedule
}

// IsLargeCompany reports whether the State itself must decide (DOMAIN.md
// §5): 5,000 people or more, or 1.5 bn € of turnover or more.
func IsLargeCompany(headcount int64, turnover Cents) bool {
	return headcount >= largeCompanyHeadcount || turnover >= largeCompanyTurnover
}

// Ceiling returns the most the company may hold in active attestations,
// across all banks (DOMAIN.md §3.6):
//   - created before 2019-01-01: 25 % of the turnover, rounded down to the
//     cent; if innovative, the larger of that and twice the payroll;
//   - created on or after 2019-01-01: the estimated payroll of its first two
//     years.
func Ceiling(p CompanyProfile) Cents {
	if !p.CreatedOn.Before(youngCompanyFrom) {
		return p.Payroll
	}
	c := p.Turnover / 4
	if p.Innovative && 2*p.Payroll > c {
		c = 2 * p.Payroll
	}
	return c
}

// youngCompanyFrom is the creation date from which the payroll ceiling
// applies.
var youngCompanyFrom = MustDate("2019-01-01")
