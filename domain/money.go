package domain

import (
	"fmt"
	"strconv"
)

// Cents is an amount of money in euro cents, never negative, at most
// MaxCents. Arithmetic on valid amounts cannot overflow int64.
type Cents int64

// MaxCents bounds every amount: 10 trillion euros, far above any PGE loan,
// so that sums over a company cannot overflow.
const MaxCents Cents = 1_000_000_000_000_000

// Euros returns the whole-euro amount e in cents.
func Euros(e int64) Cents { return Cents(e * 100) }

// NewCents checks that n is an amount from 0 to MaxCents.
func NewCents(n int64) (Cents, error) {
	if n < 0 {
		return 0, fmt.Errorf("amount %d must not be negative", n)
	}
	if n > int64(MaxCents) {
		return 0, fmt.Errorf("amount %d exceeds the maximum %d cents", n, MaxCents)
	}
	return Cents(n), nil
}

// NewPositiveCents checks that n is an amount from 1 to MaxCents.
func NewPositiveCents(n int64) (Cents, error) {
	if n <= 0 {
		return 0, fmt.Errorf("amount %d must be positive", n)
	}
	return NewCents(n)
}

// ParseCents parses a decimal integer number of cents (no sign, no
// separators) from 0 to MaxCents.
func ParseCents(s string) (Cents, error) {
	if !allDigits(s) || len(s) > 19 {
		return 0, fmt.Errorf("amount %q must be a whole number of cents", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q must be a whole number of cents", s)
	}
	return NewCents(n)
}

// String formats the amount in euros with two decimals, e.g. "1500.00 €".
func (c Cents) String() string { return fmt.Sprintf("%d.%02d €", c/100, c%100) }

// Percent returns bps basis points of c, rounded down to the cent.
func (c Cents) Percent(bps BasisPoints) Cents {
	// c·bps can exceed int64 (1e15 × 1e4): split c to stay exact.
	return c/10_000*Cents(bps) + c%10_000*Cents(bps)/10_000
}

// BasisPoints is a rate in hundredths of a percent, from 0 to 10,000
// (9000 is 90 %).
type BasisPoints int32

// NewBasisPoints checks that n is from 0 to 10,000.
func NewBasisPoints(n int64) (BasisPoints, error) {
	if n < 0 || n > 10_000 {
		return 0, fmt.Errorf("rate %d must be from 0 to 10000 basis points", n)
	}
	return BasisPoints(n), nil
}

// ParseBasisPoints parses a decimal integer from 0 to 10,000.
func ParseBasisPoints(s string) (BasisPoints, error) {
	if !allDigits(s) || len(s) > 5 {
		return 0, fmt.Errorf("rate %q must be a whole number of basis points", s)
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return NewBasisPoints(n)
}
