package domain

import (
	"encoding/json"
	"fmt"
)

// BankCode is a bank's 5-digit code établissement (e.g. "30004").
type BankCode struct{ s string }

// bankNames names the best-known lending banks.
var bankNames = map[string]string{
	"30004": "BNP Paribas",
	"30003": "Société Générale",
	"30002": "LCL",
	"20041": "La Banque Postale",
	"10278": "Crédit Mutuel",
	"30066": "CIC",
	"10107": "BRED",
	"30006": "Crédit Agricole",
	"13507": "Banque Populaire du Nord",
	"11315": "Caisse d'Epargne",
}

// ParseBankCode checks that s is exactly 5 digits.
func ParseBankCode(s string) (BankCode, error) {
	if len(s) != 5 || !allDigits(s) {
		return BankCode{}, fmt.Errorf("bank code %q must be exactly 5 digits", s)
	}
	return BankCode{s}, nil
}

// String returns the 5 digits.
func (b BankCode) String() string { return b.s }

// Name returns the bank's name when known, else the code itself.
func (b BankCode) Name() string {
	if n, ok := bankNames[b.s]; ok {
		return n
	}
	return b.s
}

// MarshalJSON encodes the code as a JSON string.
func (b BankCode) MarshalJSON() ([]byte, error) { return json.Marshal(b.s) }

// UnmarshalJSON decodes and checks a JSON string.
func (b *BankCode) UnmarshalJSON(data []byte) error { return unmarshalParsed(data, b, ParseBankCode) }
