package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// The audit's finding "a bank reads and overwrites another bank's client"
// (issue 11): bank B posts a request dated before the programme for bank
// A's client, with another name and a turnover of 4 cents. The rejection
// must not tell B what A attested; B's own request must not let it read the
// company; and the company, auditors and regulators must still see the
// company as its first attested request declared it.
func TestARejectedRequestNeitherRevealsNorOverwritesAnotherBanksClient(t *testing.T) {
	s := startService(t, t.TempDir())
	bankA, bankB := s.token(domain.RoleBank, bnp), s.token(domain.RoleBank, sg)
	var first projections.LoanRequestView
	if r := s.do("POST", "/v1/loan-requests", bankA, loanRequest(siren, bnp, 5000000, "2020-04-06")); r.status != 201 {
		t.Fatalf("A's request: %d %s", r.status, r.body)
	} else {
		r.json(t, &first)
	}
	if first.Status != "attested" {
		t.Fatalf("A's request is %s", first.Status)
	}
	numberA := first.Attestation.Number

	poison := loanRequest(siren, sg, 100, "2020-03-01")
	company := poison["company"].(map[string]any)
	company["name"], company["turnoverCents"] = "Injected Name SA", 4
	r := s.do("POST", "/v1/loan-requests", bankB, poison)
	var rejected projections.LoanRequestView
	r.json(t, &rejected)
	if r.status != 201 || rejected.Status != "rejected" {
		t.Fatalf("B's request: %d %s", r.status, r.body)
	}
	for _, leak := range []string{"50000.00", "5000000", "holds", "already attested", numberA, bnp} {
		if strings.Contains(string(r.body), leak) {
			t.Errorf("B's rejection reveals %q of A's: %s", leak, r.body)
		}
	}

	// B's own (rejected) request gives it no access to the company.
	if r := s.do("GET", fmt.Sprintf("/v1/companies/%s?minPosition=%d", siren, rejected.Position), bankB, nil); r.status != http.StatusNotFound {
		t.Fatalf("B reads A's client through its own rejected request: %d %s", r.status, r.body)
	}

	// Everyone else still sees the company as A's attested request declared it.
	for _, who := range []string{s.token(domain.RoleCompany, siren), s.token(domain.RoleAuditor, "alice"), s.token(domain.RoleRegulator, "acpr"), bankA} {
		var cv projections.CompanyView
		r := s.do("GET", "/v1/companies/"+siren, who, nil)
		r.json(t, &cv)
		if r.status != 200 || cv.Name != "Boulangerie Martin" || cv.CeilingCents != 21250000 ||
			cv.AttestedCents != 5000000 || cv.RemainingCeilingCents != 16250000 || len(cv.Attestations) != 1 {
			t.Fatalf("after B's rejected request, the company shows: %d %s", r.status, r.body)
		}
	}
}

// A bank that holds an attestation for a company reads it, but sees only
// its own part: what it declared itself, its own attestations, and the
// headroom its next request would be told; never another bank's numbers,
// amounts or bank code, nor what another bank declared.
func TestABankSeesOnlyItsOwnPartOfACompany(t *testing.T) {
	s := startService(t, t.TempDir())
	bankA, bankB := s.token(domain.RoleBank, bnp), s.token(domain.RoleBank, sg)
	var a, b projections.LoanRequestView
	s.do("POST", "/v1/loan-requests", bankA, loanRequest(siren, bnp, 5000000, "2020-05-04")).json(t, &a)
	asB := loanRequest(siren, sg, 1000000, "2020-05-05")
	asB["company"].(map[string]any)["name"] = "Martin SAS"
	asB["company"].(map[string]any)["turnoverCents"] = 80000000 // ceiling 20,000,000
	s.do("POST", "/v1/loan-requests", bankB, asB).json(t, &b)
	if a.Status != "attested" || b.Status != "attested" {
		t.Fatalf("requests %s %s", a.Status, b.Status)
	}
	var cv projections.CompanyView
	r := s.do("GET", fmt.Sprintf("/v1/companies/%s?minPosition=%d", siren, b.Position), bankB, nil)
	r.json(t, &cv)
	if r.status != 200 || len(cv.Attestations) != 1 || cv.Attestations[0] != b.Attestation.Number || cv.AttestedCents != 1000000 ||
		cv.Name != "Martin SAS" || cv.CeilingCents != 20000000 || cv.RemainingCeilingCents != 20000000-6000000 {
		t.Fatalf("B's view of the company: %d %s", r.status, r.body)
	}
	for _, leak := range []string{a.Attestation.Number, bnp, "5000000", "6000000", "Boulangerie Martin", "21250000"} {
		if strings.Contains(string(r.body), leak) {
			t.Errorf("B's view of the company reveals %q of A's: %s", leak, r.body)
		}
	}
	// The auditor sees both, and the company as A's first attestation declared it.
	s.do("GET", "/v1/companies/"+siren, s.token(domain.RoleAuditor, "alice"), nil).json(t, &cv)
	if len(cv.Attestations) != 2 || cv.AttestedCents != 6000000 || cv.Name != "Boulangerie Martin" || cv.CeilingCents != 21250000 {
		t.Fatalf("auditor's view: %+v", cv)
	}
}

// A company whose only requests were rejected has no company record: a
// rejected request writes no profile anyone else would see.
func TestACompanyWithOnlyRejectedRequestsHasNoRecord(t *testing.T) {
	s := startService(t, t.TempDir())
	var v projections.LoanRequestView
	s.do("POST", "/v1/loan-requests", s.token(domain.RoleBank, sg), loanRequest(siren, sg, 100, "2020-03-01")).json(t, &v)
	if v.Status != "rejected" {
		t.Fatalf("request %s", v.Status)
	}
	path := fmt.Sprintf("/v1/companies/%s?minPosition=%d", siren, v.Position)
	for _, who := range []string{s.token(domain.RoleCompany, siren), s.token(domain.RoleAuditor, "alice"), s.token(domain.RoleBank, sg)} {
		if r := s.do("GET", path, who, nil); r.status != http.StatusNotFound {
			t.Fatalf("company with only a rejected request: %d %s", r.status, r.body)
		}
	}
}
