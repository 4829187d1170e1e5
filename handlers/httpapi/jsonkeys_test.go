package httpapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

func TestCheckJSONKeys(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxJSONDepth+1) + `1` + strings.Repeat(`}`, maxJSONDepth+1)
	for _, tc := range []struct {
		body  string
		dst   any
		field string // "" when the body passes the scan
	}{
		{`{"siren":"1","amountCents":1}`, &loanRequestBody{}, ""},
		{`{"siren":"1","company":{"name":"a","legalForm":"SAS"}}`, &loanRequestBody{}, ""},
		{`{"siren":"1","SIREN":"2"}`, &loanRequestBody{}, "SIREN"},             // case variant of a given key
		{`{"Siren":"1"}`, &loanRequestBody{}, "Siren"},                         // case variant of a field
		{`{"company":{"NAFCode":"x"}}`, &loanRequestBody{}, "company.NAFCode"}, // nested
		{`{"company":{"collectiveProceeding":{"kind":"none","kind":"safeguard"}}}`, &loanRequestBody{}, "company.collectiveProceeding.kind"},
		{`{"company":null,"company":{}}`, &loanRequestBody{}, "company"},
		{`{"siren":"1","siren":"2","unknown":1}`, &loanRequestBody{}, "siren"},
		// What the decoder refuses anyway ends the scan: an unknown field,
		// a value of the wrong kind, a syntax error.
		{`{"unknown":1,"siren":"1","siren":"2"}`, &loanRequestBody{}, ""},
		{`{"siren":{"a":1,"a":2}}`, &loanRequestBody{}, ""},
		{`[{"siren":"1","siren":"2"}]`, &loanRequestBody{}, ""},
		{`{"siren":"1",`, &loanRequestBody{}, ""},
		{`"just a string"`, &loanRequestBody{}, ""},
		// Maps and interfaces are scanned throughout.
		{`{"a":1,"A":2}`, &map[string]any{}, "A"},
		{`[{"a":1},{"a":1}]`, new(any), ""}, // one key per object
		{`[{"a":1,"a":2}]`, new(any), "[].a"},
		{`{} {"a":1,"a":1}`, new(any), "a"},
		{deep, new(any), strings.TrimSuffix(strings.Repeat("a.", maxJSONDepth), ".")},
	} {
		err := checkJSONKeys([]byte(tc.body), tc.dst)
		var ve *domain.ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.body, err)
		case tc.field != "" && (!errors.As(err, &ve) || ve.Errors[0].Field != tc.field):
			t.Errorf("%.60s: %v, want an error on %s", tc.body, err, tc.field)
		}
	}
}

func TestFoldKeyMatchesEqualFold(t *testing.T) {
	words := []string{"amountCents", "AMOUNTCENTS", "amountCentſ", "kelvin", "\u212aelvin", "Kelvin", "straße", "STRASSE", "ǅ", "ǆ", "Ǆ", "σ", "ς", "Σ", "é", "É"}
	for _, a := range words {
		for _, b := range words {
			if (foldKey(a) == foldKey(b)) != strings.EqualFold(a, b) {
				t.Errorf("%q %q: fold equal %v, EqualFold %v", a, b, foldKey(a) == foldKey(b), strings.EqualFold(a, b))
			}
		}
	}
}

// The scan never panics and never refuses a body whose objects all have
// distinct keys, none of them a case variant of another or of a field.
func FuzzCheckJSONKeys(f *testing.F) {
	for _, s := range []string{`{"siren":"1"}`, `{"a":1,"a":2}`, `{"company":{"name":"x"}}`, `[[[]]]`, `{"a":[{"b":1}]}`, `{"AmountCents":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := checkJSONKeys([]byte(s), &loanRequestBody{})
		var v any
		if err == nil || json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		// Refused: there must be a reason in the body.
		if !strings.Contains(err.Error(), "more than once") && !strings.Contains(err.Error(), "case-sensitive") && !strings.Contains(err.Error(), "deeper") {
			t.Fatalf("%q refused: %v", s, err)
		}
	})
}
