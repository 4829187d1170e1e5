package domain

import (
	"encoding/json"
	"errors"
	"fmt"
)

// laPosteSIREN is La Poste's SIREN, valid although it fails the Luhn check
// (DOMAIN.md §7).
const laPosteSIREN = "356000000"

// SIREN identifies a French company: 9 digits with a Luhn checksum. The zero
// value is not a valid SIREN; obtain one from ParseSIREN.
type SIREN struct{ s string }

// ParseSIREN checks s (exactly 9 digits, Luhn checksum, or La Poste's
// 356000000) and returns it as a SIREN.
func ParseSIREN(s string) (SIREN, error) {
	if len(s) != 9 || !allDigits(s) {
		return SIREN{}, fmt.Errorf("SIREN %q must be exactly 9 digits", s)
	}
	if s != laPosteSIREN && !luhnValid(s) {
		return SIREN{}, fmt.Errorf("SIREN %q fails its Luhn checksum", s)
	}
	return SIREN{s}, nil
}

// String returns the 9 digits.
func (s SIREN) String() string { return s.s }

// IsZero reports whether s is the zero value.
func (s SIREN) IsZero() bool { return s.s == "" }

// MarshalJSON encodes the SIREN as a JSON string.
func (s SIREN) MarshalJSON() ([]byte, error) { return json.Marshal(s.s) }

// UnmarshalJSON decodes and checks a JSON string.
func (s *SIREN) UnmarshalJSON(b []byte) error {
	return unmarshalParsed(b, s, ParseSIREN)
}

// SIRET identifies an establishment: its company's SIREN plus 5 digits.
type SIRET struct{ s string }

// ParseSIRET checks s (14 digits, Luhn over the 14 digits; for La Poste's
// establishments the sum of the 14 digits must be a multiple of 5).
func ParseSIRET(s string) (SIRET, error) {
	if len(s) != 14 || !allDigits(s) {
		return SIRET{}, fmt.Errorf("SIRET %q must be exactly 14 digits", s)
	}
	if s[:9] == laPosteSIREN {
		if digitSum(s)%5 != 0 {
			return SIRET{}, fmt.Errorf("SIRET %q: La Poste's digits must sum to a multiple of 5", s)
		}
		return SIRET{s}, nil
	}
	if !luhnValid(s) {
		return SIRET{}, fmt.Errorf("SIRET %q fails its Luhn checksum", s)
	}
	if !luhnValid(s[:9]) {
		return SIRET{}, fmt.Errorf("SIRET %q: its SIREN %s fails its Luhn checksum", s, s[:9])
	}
	return SIRET{s}, nil
}

// String returns the 14 digits.
func (s SIRET) String() string { return s.s }

// SIREN returns the SIREN of the establishment's company.
func (s SIRET) SIREN() SIREN { return SIREN{s.s[:9]} }

// unmarshalParsed decodes a JSON string and parses it with parse.
func unmarshalParsed[T any](b []byte, dst *T, parse func(string) (T, error)) error {
	raw, ok := plainJSONString(b)
	if !ok {
		if err := json.Unmarshal(b, &raw); err != nil {
			return errors.New("must be a string")
		}
	}
	v, err := parse(raw)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// plainJSONString returns the content of a JSON string with no escape and
// no control character, the form every identifier takes, without the cost
// of a full decode; ok is false for anything else.
func plainJSONString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	for _, c := range b[1 : len(b)-1] {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return "", false
		}
	}
	return string(b[1 : len(b)-1]), true
}
