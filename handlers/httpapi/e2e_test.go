package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

const (
	siren  = "732829320"
	siren2 = "552100554" // another valid SIREN
	bnp    = "30004"
	sg     = "30003"
	lcl    = "30002"
)

func TestCompanyFlowRequestLookUpCancel(t *testing.T) {
	s := startService(t, t.TempDir())
	company := s.token(domain.RoleCompany, siren)

	r := s.do("POST", "/v1/loan-requests", company, loanRequest(siren, bnp, 15000000, "2020-03-27"))
	if r.status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	var created projections.LoanRequestView
	r.json(t, &created)
	if created.Status != "attested" || created.Attestation == nil || created.CeilingCents != 21250000 ||
		created.RemainingCeilingCents != 6250000 || created.RulesVersion != "2020-03-23" || created.SizeCategory != "micro" || created.Position == 0 {
		t.Fatalf("created: %s", r.body)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}

	// Read-your-writes: the GET at minPosition answers exactly what the POST did.
	g := s.do("GET", fmt.Sprintf("/v1/loan-requests/%s?minPosition=%d", created.RequestID, created.Position), company, nil)
	var got projections.LoanRequestView
	g.json(t, &got)
	if g.status != http.StatusOK || !reflect.DeepEqual(got, created) {
		t.Fatalf("GET differs from POST:\n%s\n%s", g.body, r.body)
	}

	number := created.Attestation.Number
	a := s.do("GET", "/v1/attestations/"+number, company, nil)
	var att projections.AttestationView
	a.json(t, &att)
	if a.status != 200 || att.Status != "issued" || att.CompanyName != "Boulangerie Martin" || att.BankCode != bnp {
		t.Fatalf("attestation: %d %s", a.status, a.body)
	}

	c := s.do("POST", "/v1/attestations/"+number+"/cancel", company, map[string]any{"reason": "not needed"})
	c.json(t, &att)
	if c.status != 200 || att.Status != "cancelled" || att.CancelReason == nil || *att.CancelReason != "not needed" {
		t.Fatalf("cancel: %d %s", c.status, c.body)
	}
	co := s.do("GET", fmt.Sprintf("/v1/companies/%s?minPosition=%d", siren, att.Position), company, nil)
	var cv projections.CompanyView
	co.json(t, &cv)
	if co.status != 200 || cv.AttestedCents != 0 || cv.RemainingCeilingCents != 21250000 || len(cv.Attestations) != 1 {
		t.Fatalf("company after cancel: %d %s", co.status, co.body)
	}
	// Cancelling again is a state conflict.
	if again := s.do("POST", "/v1/attestations/"+number+"/cancel", company, map[string]any{}); again.status != http.StatusConflict {
		t.Fatalf("second cancel: %d %s", again.status, again.body)
	}
}

func TestBankFlowGrantAndTenancy(t *testing.T) {
	s := startService(t, t.TempDir())
	bank, other := s.token(domain.RoleBank, bnp), s.token(domain.RoleBank, sg)
	var created projections.LoanRequestView
	s.do("POST", "/v1/loan-requests", bank, loanRequest(siren, bnp, 10000000, "2020-05-04")).json(t, &created)
	number := created.Attestation.Number

	// Another bank can neither see nor grant it: 404, as if it did not exist.
	for _, r := range []response{
		s.do("GET", "/v1/attestations/"+number, other, nil),
		s.do("POST", "/v1/attestations/"+number+"/grant", other, map[string]any{"grantedAmountCents": 1, "grantedOn": "2020-05-05", "durationMonths": 12}),
		s.do("GET", "/v1/loan-requests/"+created.RequestID, other, nil),
		s.do("GET", "/v1/companies/"+siren, other, nil),
	} {
		if r.status != http.StatusNotFound {
			t.Fatalf("other bank: %d %s", r.status, r.body)
		}
	}
	// Above the attested amount: 400; then a good grant.
	if r := s.do("POST", "/v1/attestations/"+number+"/grant", bank, map[string]any{"grantedAmountCents": 10000001, "grantedOn": "2020-05-05", "durationMonths": 12}); r.status != 400 {
		t.Fatalf("grant above: %d %s", r.status, r.body)
	}
	r := s.do("POST", "/v1/attestations/"+number+"/grant", bank, map[string]any{"grantedAmountCents": 9000000, "grantedOn": "2020-05-05", "durationMonths": 72})
	var att projections.AttestationView
	r.json(t, &att)
	if r.status != 200 || att.Status != "loan_granted" || *att.GrantedAmountCents != 9000000 || *att.DurationMonths != 72 {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	// The bank sees its attestation in its list and the company; the other bank sees nothing.
	var page projections.AttestationPage
	s.do("GET", fmt.Sprintf("/v1/attestations?minPosition=%d", att.Position), bank, nil).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].Number != number {
		t.Fatalf("bank list: %+v", page)
	}
	s.do("GET", "/v1/attestations?bankCode="+bnp, other, nil).json(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("other bank sees %+v", page)
	}
	if r := s.do("GET", "/v1/companies/"+siren, bank, nil); r.status != 200 {
		t.Fatalf("bank with a request for the company: %d %s", r.status, r.body)
	}
}

func TestAuditorHistoryEventsAndTimeTravel(t *testing.T) {
	s := startService(t, t.TempDir())
	company, auditor := s.token(domain.RoleCompany, siren), s.token(domain.RoleAuditor, "alice")
	var created projections.LoanRequestView
	s.do("POST", "/v1/loan-requests", company, loanRequest(siren, bnp, 1000000, "2020-05-04")).json(t, &created)
	time.Sleep(20 * time.Millisecond) // two distinct recording instants
	between := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	s.do("POST", "/v1/attestations/"+created.Attestation.Number+"/cancel", company, map[string]any{"reason": "x"})

	var hist struct {
		Items []map[string]any `json:"items"`
	}
	h := s.do("GET", "/v1/companies/"+siren+"/history", auditor, nil)
	h.json(t, &hist)
	types := []string{}
	for _, e := range hist.Items {
		types = append(types, e["type"].(string))
	}
	want := []string{"loan_request.submitted", "loan_request.assessed", "attestation.issued", "attestation.cancelled"}
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("history types %v", types)
	}
	if actor := hist.Items[0]["actor"].(map[string]any); actor["role"] != "company" || actor["id"] != siren {
		t.Fatalf("actor %v", actor)
	}
	var events struct {
		Items []map[string]any `json:"items"`
		Next  uint64           `json:"next"`
	}
	s.do("GET", "/v1/events?from=2&limit=2", auditor, nil).json(t, &events)
	if len(events.Items) != 2 || events.Items[0]["position"].(float64) != 2 || events.Next != 4 {
		t.Fatalf("events page %+v", events)
	}
	var then projections.AttestationView
	r := s.do("GET", "/v1/attestations/"+created.Attestation.Number+"?asOf="+between.Format(time.RFC3339Nano), auditor, nil)
	r.json(t, &then)
	if r.status != 200 || then.Status != "issued" {
		t.Fatalf("asOf before the cancellation: %d %s", r.status, r.body)
	}
	before := created.Attestation.IssuedAt.Add(-time.Hour).Format(time.RFC3339)
	if r := s.do("GET", "/v1/attestations/"+created.Attestation.Number+"?asOf="+before, auditor, nil); r.status != 404 {
		t.Fatalf("asOf before the issue: %d %s", r.status, r.body)
	}
	if r := s.do("GET", "/v1/attestations/"+created.Attestation.Number+"?asOf="+before, company, nil); r.status != 403 {
		t.Fatalf("asOf for a company: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/v1/events", "/v1/companies/" + siren + "/history"} {
		if r := s.do("GET", path, company, nil); r.status != 403 {
			t.Fatalf("%s for a company: %d", path, r.status)
		}
	}
}

func TestLargeCompanyStateDecision(t *testing.T) {
	s := startService(t, t.TempDir())
	bank, admin := s.token(domain.RoleBank, bnp), s.token(domain.RoleAdmin, "ops")
	body := loanRequest(siren, bnp, 100_000_000_00, "2020-05-04")
	body["company"].(map[string]any)["headcount"] = 6000
	body["company"].(map[string]any)["turnoverCents"] = 1_000_000_000_00
	var v projections.LoanRequestView
	s.do("POST", "/v1/loan-requests", bank, body).json(t, &v)
	if v.Status != "pending_state_review" || v.Reasons[0].Code != domain.ReasonLargeCompanyStateDecree || v.Attestation != nil {
		t.Fatalf("large company: %+v", v)
	}
	path := "/v1/loan-requests/" + v.RequestID + "/state-decision"
	if r := s.do("POST", path, bank, map[string]any{"approved": true, "decreeRef": "D"}); r.status != 403 {
		t.Fatalf("bank deciding: %d", r.status)
	}
	r := s.do("POST", path, admin, map[string]any{"approved": true, "decreeRef": "ECOT2020-0042"})
	r.json(t, &v)
	if r.status != 200 || v.Status != "attested" || v.Attestation == nil || v.DecreeRef != "ECOT2020-0042" || v.Attestation.GuaranteeRateBps != 8000 {
		t.Fatalf("approval: %d %s", r.status, r.body)
	}
	if r := s.do("POST", path, admin, map[string]any{"approved": false}); r.status != 409 {
		t.Fatalf("second decision: %d %s", r.status, r.body)
	}
	if r := s.do("POST", "/v1/loan-requests/01JUNKNOWN/state-decision", admin, map[string]any{"approved": false}); r.status != 404 {
		t.Fatalf("unknown request: %d %s", r.status, r.body)
	}
}

func TestRegulatorReportJSONAndCSV(t *testing.T) {
	s := startService(t, t.TempDir())
	bank, regulator := s.token(domain.RoleBank, bnp), s.token(domain.RoleRegulator, "acpr")
	var last projections.LoanRequestView
	s.do("POST", "/v1/loan-requests", bank, loanRequest(siren, bnp, 1000000, "2020-03-27")).json(t, &last)
	rejected := loanRequest(siren2, bnp, 1000000, "2020-03-28")
	rejected["company"].(map[string]any)["legalForm"] = "SCI"
	s.do("POST", "/v1/loan-requests", bank, rejected).json(t, &last)

	var rep struct {
		Rows []projections.ReportRow `json:"rows"`
	}
	r := s.do("GET", fmt.Sprintf("/v1/reports/pge?groupBy=region&minPosition=%d", last.Position), regulator, nil)
	r.json(t, &rep)
	total := rep.Rows[len(rep.Rows)-1]
	if r.status != 200 || total.Key != "total" || total.Requests != 2 || total.Attested != 1 || total.Rejected != 1 ||
		total.AttestedCents != 1000000 || total.GuaranteedCents != 900000 {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	csv := s.do("GET", "/v1/reports/pge?groupBy=week", regulator, nil, "Accept", "text/csv")
	lines := strings.Split(strings.TrimSpace(string(csv.body)), "\n")
	if csv.status != 200 || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(lines[0], "key,label,requests,attested,rejected,attestedCents,guaranteedCents,granted,grantedCents") ||
		!strings.HasPrefix(lines[1], "2020-W13,") || !strings.HasPrefix(lines[len(lines)-1], "total,") {
		t.Fatalf("csv: %d %s", csv.status, csv.body)
	}
	if r := s.do("GET", "/v1/reports/pge?groupBy=planet", regulator, nil); r.status != 400 || r.problem(t).Errors[0].Field != "groupBy" {
		t.Fatalf("bad groupBy: %d %s", r.status, r.body)
	}
	if r := s.do("GET", "/v1/reports/pge?groupBy=region", bank, nil); r.status != 403 {
		t.Fatalf("bank report: %d", r.status)
	}
}

// The ceiling race: many concurrent requests by several banks for one
// company. Exactly as many are attested as fit, and never more than the
// ceiling.
func TestCeilingRaceAcrossBanks(t *testing.T) {
	s := startService(t, t.TempDir())
	const perBank, amount = 12, 2_000_000 // ceiling 21,250,000: 10 fit
	banks := []string{bnp, sg, lcl}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	for _, b := range banks {
		tok := s.token(domain.RoleBank, b)
		for i := 0; i < perBank; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := s.do("POST", "/v1/loan-requests", tok, loanRequest(siren, b, amount, "2020-05-04"))
				var v projections.LoanRequestView
				r.json(t, &v)
				mu.Lock()
				statuses[fmt.Sprintf("%d %s", r.status, v.Status)]++
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if statuses["201 attested"] != 10 || statuses["201 rejected"] != len(banks)*perBank-10 {
		t.Fatalf("outcomes %v, want 10 attested", statuses)
	}
	var cv projections.CompanyView
	s.do("GET", fmt.Sprintf("/v1/companies/%s?minPosition=%d", siren, s.head()), s.token(domain.RoleAuditor, "a"), nil).json(t, &cv)
	if cv.AttestedCents != 10*amount || cv.AttestedCents > cv.CeilingCents || len(cv.Attestations) != 10 {
		t.Fatalf("company %+v", cv)
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := startService(t, t.TempDir())
	bank := s.token(domain.RoleBank, bnp)
	body := loanRequest(siren, bnp, 1000000, "2020-05-04")
	first := s.do("POST", "/v1/loan-requests", bank, body, "Idempotency-Key", "k-1")
	head := s.head()
	again := s.do("POST", "/v1/loan-requests", bank, body, "Idempotency-Key", "k-1")
	if first.status != 201 || again.status != 201 || string(first.body) != string(again.body) {
		t.Fatalf("retry answered differently:\n%s\n%s", first.body, again.body)
	}
	if s.head() != head {
		t.Fatal("the retry appended events")
	}
	other := loanRequest(siren, bnp, 2000000, "2020-05-04")
	if r := s.do("POST", "/v1/loan-requests", bank, other, "Idempotency-Key", "k-1"); r.status != 409 {
		t.Fatalf("key reused with another body: %d %s", r.status, r.body)
	}
	// Reused for another company: its stream knows nothing of the key,
	// the register of keys does.
	head = s.head()
	if r := s.do("POST", "/v1/loan-requests", bank, loanRequest(siren2, bnp, 1000000, "2020-05-04"), "Idempotency-Key", "k-1"); r.status != 409 {
		t.Fatalf("key reused for another company: %d %s", r.status, r.body)
	}
	if s.head() != head {
		t.Fatal("the reused key appended events")
	}
	// The same key from another caller is another key.
	if r := s.do("POST", "/v1/loan-requests", s.token(domain.RoleCompany, siren), body, "Idempotency-Key", "k-1"); r.status != 201 {
		t.Fatalf("same key, other caller: %d %s", r.status, r.body)
	}
	// It survives a restart.
	s.stop()
	s2 := startService(t, s.dir)
	after := s2.do("POST", "/v1/loan-requests", s2.token(domain.RoleBank, bnp), body, "Idempotency-Key", "k-1")
	if after.status != 201 || string(after.body) != string(first.body) {
		t.Fatalf("after restart:\n%s\n%s", after.body, first.body)
	}
}

// A retry with the same key answers what the first call answered, even
// after the request moved on (here: the State decided meanwhile).
func TestIdempotentRetryAnswersTheOriginalResponse(t *testing.T) {
	s := startService(t, t.TempDir())
	bank, admin := s.token(domain.RoleBank, bnp), s.token(domain.RoleAdmin, "ops")
	body := loanRequest(siren, bnp, 100_000_000_00, "2020-05-04")
	body["company"].(map[string]any)["headcount"] = 6000
	body["company"].(map[string]any)["turnoverCents"] = 1_000_000_000_00
	first := s.do("POST", "/v1/loan-requests", bank, body, "Idempotency-Key", "big-1")
	var v projections.LoanRequestView
	first.json(t, &v)
	s.do("POST", "/v1/loan-requests/"+v.RequestID+"/state-decision", admin, map[string]any{"approved": false})
	again := s.do("POST", "/v1/loan-requests", bank, body, "Idempotency-Key", "big-1")
	if string(again.body) != string(first.body) {
		t.Fatalf("retry after the decision:\n%s\n%s", again.body, first.body)
	}
}

func TestReportCSVHasTheJSONColumns(t *testing.T) {
	s := startService(t, t.TempDir())
	regulator := s.token(domain.RoleRegulator, "acpr")
	var last projections.LoanRequestView
	s.do("POST", "/v1/loan-requests", s.token(domain.RoleBank, bnp), loanRequest(siren, bnp, 1000000, "2020-03-27")).json(t, &last)
	var rep struct {
		Rows []map[string]any `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(s.do("GET", fmt.Sprintf("/v1/reports/pge?groupBy=bank&minPosition=%d", last.Position), regulator, nil).body))
	dec.UseNumber()
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	csv := s.do("GET", "/v1/reports/pge?groupBy=bank&format=csv", regulator, nil)
	lines := strings.Split(strings.TrimSpace(string(csv.body)), "\n")
	header := strings.Split(lines[0], ",")
	if len(header) != len(rep.Rows[0]) || len(lines) != len(rep.Rows)+1 {
		t.Fatalf("csv header %v vs json row %v", header, rep.Rows[0])
	}
	for i, row := range rep.Rows {
		cells := strings.Split(lines[i+1], ",")
		for j, col := range header {
			if want := fmt.Sprint(row[col]); cells[j] != want {
				t.Fatalf("row %d column %s: csv %q, json %q", i, col, cells[j], want)
			}
		}
	}
	if j := s.do("GET", "/v1/reports/pge?groupBy=bank", regulator, nil, "Accept", "application/json, text/csv"); !strings.HasPrefix(j.header.Get("Content-Type"), "application/json") {
		t.Fatalf("json first in Accept: %s", j.header.Get("Content-Type"))
	}
}

// An admin rebuilds the read models while the service answers; the
// answers are the same afterwards.
func TestAdminRebuildKeepsAnswering(t *testing.T) {
	s := startService(t, t.TempDir())
	bank, admin := s.token(domain.RoleBank, bnp), s.token(domain.RoleAdmin, "ops")
	var v projections.LoanRequestView
	for _, sn := range []string{siren, siren2} {
		s.do("POST", "/v1/loan-requests", bank, loanRequest(sn, bnp, 1000000, "2020-05-04")).json(t, &v)
	}
	before := s.do("GET", fmt.Sprintf("/v1/attestations/%s?minPosition=%d", v.Attestation.Number, v.Position), bank, nil)
	if r := s.do("POST", "/v1/admin/projections/rebuild", bank, nil); r.status != 403 {
		t.Fatalf("bank rebuild: %d", r.status)
	}
	r := s.do("POST", "/v1/admin/projections/rebuild", admin, nil)
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	var last struct {
		Done    bool   `json:"done"`
		Applied uint64 `json:"applied"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || r.status != 200 || !last.Done || last.Error != "" || last.Applied != v.Position {
		t.Fatalf("rebuild: %d %s", r.status, r.body)
	}
	after := s.do("GET", "/v1/attestations/"+v.Attestation.Number, bank, nil)
	if after.status != 200 || string(after.body) != string(before.body) {
		t.Fatalf("after rebuild:\n%s\n%s", after.body, before.body)
	}
}
