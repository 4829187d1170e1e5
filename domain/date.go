package domain

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a calendar date with no time of day or zone, such as a business
// date (requestedOn). The zero value is not a valid date.
type Date struct{ t time.Time }

// dateLayout is the only accepted spelling, YYYY-MM-DD.
const dateLayout = "2006-01-02"

// ParseDate parses "YYYY-MM-DD" (a real calendar date, years 1900 to 2999).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || len(s) != len(dateLayout) {
		return Date{}, fmt.Errorf("date %q must be a calendar date YYYY-MM-DD", s)
	}
	if t.Year() < 1900 || t.Year() > 2999 {
		return Date{}, fmt.Errorf("date %q must be between 1900 and 2999", s)
	}
	return Date{t}, nil
}

// MustDate parses a date literal known to be valid; it panics otherwise. For
// constants and tests.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// String returns "YYYY-MM-DD", or "" for the zero value.
func (d Date) String() string {
	if d.t.IsZero() {
		return ""
	}
	return d.t.Format(dateLayout)
}

// IsZero reports whether d is the zero value.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Before reports whether d is strictly before o.
func (d Date) Before(o Date) bool { return d.t.Before(o.t) }

// After reports whether d is strictly after o.
func (d Date) After(o Date) bool { return d.t.After(o.t) }

// AddDays returns the date n days after d (before, for negative n).
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return d.t }

// MarshalJSON encodes the date as "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON decodes a "YYYY-MM-DD" JSON string.
func (d *Date) UnmarshalJSON(b []byte) error { return unmarshalParsed(b, d, ParseDate) }
