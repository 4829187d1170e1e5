package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// Closed lists fail closed and free text is clean (DOMAIN.md §7): every
// such input is a 400 on its field, and the log does not move.
func TestClosedListsAndFreeTextAreRefusedThroughHTTP(t *testing.T) {
	s := startService(t, t.TempDir())
	bank := s.token(domain.RoleBank, bnp)
	company := func(field string, value any) map[string]any {
		b := loanRequest(siren, bnp, 1000000, "2020-05-04")
		b["company"].(map[string]any)[field] = value
		return b
	}
	cases := []struct {
		name, field string
		value       any
	}{
		// NAF codes of the right shape that are not NAF rév. 2 sub-classes.
		{"NAF 64.19A", "nafCode", "64.19A"},
		{"NAF 64.11Y", "nafCode", "64.11Y"},
		{"NAF 64.92B", "nafCode", "64.92B"},
		{"NAF 99.99Z", "nafCode", "99.99Z"},
		{"NAF 6419A", "nafCode", "6419A"},
		// Legal forms off the lists, and look-alikes of listed ones.
		{"SCI and a zero-width space", "legalForm", "SCI\u200b"},
		{"SCI and a BOM", "legalForm", "\ufeffSCI"},
		{"Cyrillic SCI", "legalForm", "\u0405\u0421\u0406"},
		{"full-width SCI", "legalForm", "ＳＣＩ"},
		{"long s SAS", "legalForm", "ſas"},
		{"unknown abbreviation", "legalForm", "LLC"},
		{"unknown code", "legalForm", "6549"},
		// Free text.
		{"NUL in name", "name", "Boulangerie\x00Martin"},
		{"newline in name", "name", "Boulangerie\nMartin"},
		{"RLO in name", "name", "Boulangerie \u202eniraM"},
		{"isolate in name", "name", "Boulangerie \u2066Martin\u2069"},
		{"zero-width name", "name", "\u200b\u200b"},
		{"blank filler name", "name", "\u3164"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := s.head()
			r := s.do("POST", "/v1/loan-requests", bank, company(tc.field, tc.value))
			if r.status != 400 {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "company."+tc.field {
				t.Fatalf("errors %+v, want company.%s", p.Errors, tc.field)
			}
			if h := s.head(); h != head {
				t.Fatalf("the log moved from %d to %d", head, h)
			}
		})
	}

	// Free text in the other commands: a decree reference, a cancellation
	// reason.
	var created struct {
		Attestation struct{ Number string } `json:"attestation"`
	}
	s.do("POST", "/v1/loan-requests", bank, loanRequest(siren, bnp, 1000000, "2020-05-04")).json(t, &created)
	large := loanRequest(siren2, bnp, 100_000_000_00, "2020-05-04")
	large["company"].(map[string]any)["headcount"] = 6000
	large["company"].(map[string]any)["turnoverCents"] = 1_000_000_000_00
	var pending projections.LoanRequestView
	s.do("POST", "/v1/loan-requests", bank, large).json(t, &pending)
	if pending.Status != "pending_state_review" {
		t.Fatalf("large company: %+v", pending)
	}
	head := s.head()
	r := s.do("POST", "/v1/attestations/"+created.Attestation.Number+"/cancel", bank, map[string]any{"reason": "oops\u202e"})
	if r.status != 400 || r.problem(t).Errors[0].Field != "reason" {
		t.Fatalf("cancel with a bidi reason: %d %s", r.status, r.body)
	}
	r = s.do("POST", "/v1/loan-requests/"+pending.RequestID+"/state-decision", s.token(domain.RoleAdmin, "ops"), map[string]any{"approved": true, "decreeRef": "\u200b"})
	if r.status != 400 || r.problem(t).Errors[0].Field != "decreeRef" {
		t.Fatalf("state decision with an invisible decree: %d %s", r.status, r.body)
	}
	if h := s.head(); h != head {
		t.Fatalf("the log moved from %d to %d", head, h)
	}
}

// The real-estate civil companies (654x), by abbreviation or code, are a
// business rejection, EXCLUDED_LEGAL_FORM, not a 400; listed codes and
// abbreviations are accepted; free text is recorded in NFC.
func TestLegalFormsAndNamesAcceptedThroughHTTP(t *testing.T) {
	s := startService(t, t.TempDir())
	bank := s.token(domain.RoleBank, bnp)
	for i, lf := range []string{"SCI", "sci", "6540", "6541", "6542", "6543", "6544", "SCCV"} {
		b := loanRequest(siren, bnp, 1000000, "2020-05-04")
		b["company"].(map[string]any)["legalForm"] = lf
		var v projections.LoanRequestView
		r := s.do("POST", "/v1/loan-requests", bank, b, "Idempotency-Key", "sci-"+lf+"-"+string(rune('a'+i)))
		r.json(t, &v)
		if r.status >= 300 || v.Status != "rejected" || len(v.Reasons) != 1 || v.Reasons[0].Code != domain.ReasonExcludedLegalForm {
			t.Fatalf("legal form %q: %d %s", lf, r.status, r.body)
		}
	}
	for i, lf := range []string{"SAS", "5710", "sarl", "EURL", "EI", "SA", "SASU", "SCOP", "5499"} {
		b := loanRequest(siren2, bnp, 1000, "2020-05-04")
		b["company"].(map[string]any)["legalForm"] = lf
		// A decomposed "é" (e and a combining acute accent) is recorded as
		// one code point.
		b["company"].(map[string]any)["name"] = "Cafe\u0301 n°" + string(rune('0'+i))
		var v projections.LoanRequestView
		r := s.do("POST", "/v1/loan-requests", bank, b)
		r.json(t, &v)
		if r.status >= 300 || v.Status != "attested" {
			t.Fatalf("legal form %q: %d %s", lf, r.status, r.body)
		}
		if want := "Café n°" + string(rune('0'+i)); v.CompanyName != want {
			t.Fatalf("company name %q, want %q (NFC)", v.CompanyName, want)
		}
	}
}

// Duplicate keys and keys in another case are refused on every JSON body:
// encoding/json would take the last duplicate and match names without
// regard to case.
func TestDuplicateAndCaseVariantKeysAreRefused(t *testing.T) {
	s := startService(t, t.TempDir())
	bank := s.token(domain.RoleBank, bnp)
	admin := s.token(domain.RoleAdmin, "ops")
	var created struct {
		Attestation struct{ Number string } `json:"attestation"`
	}
	s.do("POST", "/v1/loan-requests", bank, loanRequest(siren, bnp, 1000000, "2020-05-04")).json(t, &created)
	number := created.Attestation.Number
	company := `"company":{"name":"Boulangerie Martin","legalForm":"SAS","nafCode":"10.71C","regionCode":"11","headcount":8,` +
		`"turnoverCents":85000000,"payrollCents":30000000,"createdOn":"2012-05-14"}`
	for _, tc := range []struct {
		name, path, token, body, field, message string
	}{
		{"duplicate amount", "/v1/loan-requests", bank,
			`{"siren":"` + siren2 + `","bankCode":"30004","amountCents":100,"amountCents":7777,"requestedOn":"2020-05-04",` + company + `}`,
			"amountCents", "more than once"},
		{"case-variant amount", "/v1/loan-requests", bank,
			`{"siren":"` + siren2 + `","bankCode":"30004","AmountCents":7777,"requestedOn":"2020-05-04",` + company + `}`,
			"AmountCents", "case-sensitive"},
		{"amount twice, in two cases", "/v1/loan-requests", bank,
			`{"siren":"` + siren2 + `","bankCode":"30004","amountCents":100,"AMOUNTCENTS":7777,"requestedOn":"2020-05-04",` + company + `}`,
			"AMOUNTCENTS", "more than once"},
		{"long s", "/v1/loan-requests", bank,
			`{"siren":"` + siren2 + `","bankCode":"30004","amountCent\u017f":7777,"requestedOn":"2020-05-04",` + company + `}`,
			"amountCentſ", "case-sensitive"},
		{"duplicate nested name", "/v1/loan-requests", bank,
			`{"siren":"` + siren2 + `","bankCode":"30004","amountCents":100,"requestedOn":"2020-05-04",` +
				strings.Replace(company, `"name":"Boulangerie Martin"`, `"name":"A","name":"=HYPERLINK(1)"`, 1) + `}`,
			"company.name", "more than once"},
		{"duplicate company", "/v1/loan-requests", bank,
			`{"siren":"` + siren2 + `","bankCode":"30004","amountCents":100,"requestedOn":"2020-05-04",` + company + `,` + company + `}`,
			"company", "more than once"},
		{"duplicate grant amount", "/v1/attestations/" + number + "/grant", bank,
			`{"grantedAmountCents":1,"grantedAmountCents":1000000,"grantedOn":"2020-05-05","durationMonths":12}`,
			"grantedAmountCents", "more than once"},
		{"case-variant duration", "/v1/attestations/" + number + "/grant", bank,
			`{"grantedAmountCents":1,"grantedOn":"2020-05-05","DurationMonths":12}`,
			"DurationMonths", "case-sensitive"},
		{"duplicate reason", "/v1/attestations/" + number + "/cancel", bank,
			`{"reason":"a","Reason":"b"}`, "Reason", "more than once"},
		{"duplicate approval", "/v1/loan-requests/x/state-decision", admin,
			`{"approved":false,"approved":true,"decreeRef":"D-1"}`, "approved", "more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := s.head()
			r := s.do("POST", tc.path, tc.token, []byte(tc.body))
			if r.status != 400 {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			p := r.problem(t)
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.field || !strings.Contains(p.Errors[0].Message, tc.message) {
				t.Fatalf("errors %+v, want %s: …%s…", p.Errors, tc.field, tc.message)
			}
			if h := s.head(); h != head {
				t.Fatalf("the log moved from %d to %d", head, h)
			}
		})
	}
	// The same keys once each, in the right case, are accepted.
	body := `{"siren":"` + siren2 + `","bankCode":"30004","amountCents":100,"requestedOn":"2020-05-04",` + company + `}`
	if r := s.do("POST", "/v1/loan-requests", bank, []byte(body)); r.status != 201 {
		t.Fatalf("clean body: %d %s", r.status, r.body)
	}
}

// A report's text cells cannot become spreadsheet formulas.
func TestReportCSVNeutralisesFormulas(t *testing.T) {
	rec := httptest.NewRecorder()
	rows := []projections.ReportRow{
		{Key: "=HYPERLINK(\"http://evil.example/x\",\"Click\")", Label: "+cmd|' /C calc'!A0", Requests: 1},
		{Key: "@SUM(A1)", Label: "-2+3", Requests: -1},
		{Key: "\t=1", Label: "Boulangerie", Requests: 2},
		{Key: "total", Label: "Total", Requests: 2},
	}
	if err := httpapi.WriteReportCSV(rec, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{
		{`'=HYPERLINK("http://evil.example/x","Click")`, `'+cmd|' /C calc'!A0`},
		{"'@SUM(A1)", "'-2+3"},
		{"'\t=1", "Boulangerie"},
		{"total", "Total"},
	}
	for i, w := range want {
		if got := [2]string{recs[i+1][0], recs[i+1][1]}; got != w {
			t.Errorf("row %d: %q, want %q", i, got, w)
		}
	}
	if recs[2][2] != "-1" {
		t.Errorf("a negative number is written as %q", recs[2][2])
	}
}
