package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
)

// Every bad input gets its 4xx problem and appends nothing.
func TestBadInputIsRefusedAndAppendsNothing(t *testing.T) {
	s := startService(t, t.TempDir())
	bank := s.token(domain.RoleBank, bnp)
	// One good request first, so that there is an attestation to abuse.
	var created struct {
		Attestation struct{ Number string } `json:"attestation"`
	}
	s.do("POST", "/v1/loan-requests", bank, loanRequest(siren, bnp, 1000000, "2020-05-04")).json(t, &created)
	number := created.Attestation.Number

	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := auth.NewSigner(otherKey).Issue(auth.Principal{Role: "bank", Subject: bnp}, time.Hour)
	algNone := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"30004","role":"bank","exp":4102444800}`)) + "."
	with := func(edit func(map[string]any)) map[string]any {
		b := loanRequest(siren, bnp, 1000000, "2020-05-04")
		edit(b)
		return b
	}
	mistyped := []byte(number)
	if mistyped[len(mistyped)-1] == 'A' {
		mistyped[len(mistyped)-1] = 'B'
	} else {
		mistyped[len(mistyped)-1] = 'A'
	}

	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		headers                   []string
		status                    int
		field                     string
	}{
		{"malformed JSON", "POST", "/v1/loan-requests", bank, []byte(`{"siren": "732829320",`), nil, 400, ""},
		{"two JSON values", "POST", "/v1/loan-requests", bank, []byte(`{} {}`), nil, 400, ""},
		{"unknown field", "POST", "/v1/loan-requests", bank, with(func(b map[string]any) { b["discount"] = 1 }), nil, 400, "discount"},
		{"invalid SIREN", "POST", "/v1/loan-requests", bank, with(func(b map[string]any) { b["siren"] = "732829321" }), nil, 400, "siren"},
		{"negative amount", "POST", "/v1/loan-requests", bank, with(func(b map[string]any) { b["amountCents"] = -100 }), nil, 400, "amountCents"},
		{"zero amount", "POST", "/v1/loan-requests", bank, with(func(b map[string]any) { b["amountCents"] = 0 }), nil, 400, "amountCents"},
		{"float amount", "POST", "/v1/loan-requests", bank, with(func(b map[string]any) { b["amountCents"] = 10.5 }), nil, 400, "amountCents"},
		{"bad date", "POST", "/v1/loan-requests", bank, with(func(b map[string]any) { b["requestedOn"] = "2020-02-30" }), nil, 400, "requestedOn"},
		{"bad NAF", "POST", "/v1/loan-requests", bank, with(func(b map[string]any) { b["company"].(map[string]any)["nafCode"] = "ZZ.99" }), nil, 400, "company.nafCode"},
		{"bad proceeding", "POST", "/v1/loan-requests", bank, with(func(b map[string]any) {
			b["company"].(map[string]any)["collectiveProceeding"] = map[string]any{"kind": "bankrupt"}
		}), nil, 400, "company.collectiveProceeding.kind"},
		{"no company", "POST", "/v1/loan-requests", bank, with(func(b map[string]any) { delete(b, "company") }), nil, 400, "company"},
		{"oversized body", "POST", "/v1/loan-requests", bank, []byte(`{"siren":"` + strings.Repeat("9", httpapi.MaxBodyBytes) + `"}`), nil, 413, ""},
		{"not JSON", "POST", "/v1/loan-requests", bank, []byte(`siren=1`), []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
		{"no token", "POST", "/v1/loan-requests", "", loanRequest(siren, bnp, 1000, "2020-05-04"), nil, 401, ""},
		{"forged token", "POST", "/v1/loan-requests", forged, loanRequest(siren, bnp, 1000, "2020-05-04"), nil, 401, ""},
		{"alg none", "POST", "/v1/loan-requests", algNone, loanRequest(siren, bnp, 1000, "2020-05-04"), nil, 401, ""},
		{"wrong role", "POST", "/v1/loan-requests", s.token(domain.RoleRegulator, "acpr"), loanRequest(siren, bnp, 1000, "2020-05-04"), nil, 403, ""},
		{"bank for another bank", "POST", "/v1/loan-requests", s.token(domain.RoleBank, sg), loanRequest(siren, bnp, 1000, "2020-05-04"), nil, 403, ""},
		{"company for another", "POST", "/v1/loan-requests", s.token(domain.RoleCompany, siren2), loanRequest(siren, bnp, 1000, "2020-05-04"), nil, 403, ""},
		{"grant: malformed number", "POST", "/v1/attestations/" + string(mistyped) + "/grant", bank, map[string]any{"grantedAmountCents": 1, "grantedOn": "2020-05-05", "durationMonths": 12}, nil, 400, ""},
		{"grant: unknown number", "POST", "/v1/attestations/PGE-0000-0000-0000-000" + checkOf("000000000000000") + "/grant", bank, map[string]any{"grantedAmountCents": 1, "grantedOn": "2020-05-05", "durationMonths": 12}, nil, 404, ""},
		{"grant: 11 months", "POST", "/v1/attestations/" + number + "/grant", bank, map[string]any{"grantedAmountCents": 1, "grantedOn": "2020-05-05", "durationMonths": 11}, nil, 400, "durationMonths"},
		{"grant: too much", "POST", "/v1/attestations/" + number + "/grant", bank, map[string]any{"grantedAmountCents": 1000001, "grantedOn": "2020-05-05", "durationMonths": 12}, nil, 400, "grantedAmountCents"},
		{"grant by a company", "POST", "/v1/attestations/" + number + "/grant", s.token(domain.RoleCompany, siren), map[string]any{"grantedAmountCents": 1, "grantedOn": "2020-05-05", "durationMonths": 12}, nil, 403, ""},
		{"state decision without approved", "POST", "/v1/loan-requests/x/state-decision", s.token(domain.RoleAdmin, "ops"), map[string]any{}, nil, 400, "approved"},
		{"idempotency key too long", "POST", "/v1/loan-requests", bank, loanRequest(siren, bnp, 1000, "2020-05-04"), []string{"Idempotency-Key", strings.Repeat("k", 201)}, 400, "Idempotency-Key"},
		{"unknown path", "GET", "/v1/nowhere", bank, nil, nil, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := s.head()
			r := s.do(tc.method, tc.path, tc.token, tc.body, tc.headers...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			p := r.problem(t)
			if p.Status != tc.status || p.Title == "" || p.Type == "" {
				t.Fatalf("problem %+v", p)
			}
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field) {
				t.Fatalf("errors %+v, want field %s", p.Errors, tc.field)
			}
			if h := s.head(); h != head {
				t.Fatalf("the log moved from %d to %d", head, h)
			}
		})
	}
}

// checkOf returns the check character of a 15-character body.
func checkOf(body string) string {
	for _, c := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		n := "PGE-" + body[0:4] + "-" + body[4:8] + "-" + body[8:12] + "-" + body[12:15] + string(c)
		if _, err := domain.ParseAttestationNumber(n); err == nil {
			return string(c)
		}
	}
	panic("no check character")
}

func TestTooManyRequestsAndUnavailable(t *testing.T) {
	s := startService(t, t.TempDir(), func(c *httpapi.Config) { c.MaxInFlight = 1 })
	auditor := s.token(domain.RoleAuditor, "a")
	done := make(chan response, 1)
	go func() { done <- s.do("GET", "/v1/attestations?minPosition=999999", auditor, nil) }()
	// While the first waits for a position that never comes, the one slot
	// is taken: the next request is turned away with Retry-After.
	var busy response
	for i := 0; i < 200; i++ {
		busy = s.do("GET", "/healthz", "", nil)
		if busy.status == http.StatusTooManyRequests {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if busy.status != http.StatusTooManyRequests || busy.header.Get("Retry-After") == "" {
		t.Fatalf("no 429: %d %s", busy.status, busy.body)
	}
	if r := <-done; r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("minPosition never reached: %d %s", r.status, r.body)
	}
}

func TestOpsEndpoints(t *testing.T) {
	s := startService(t, t.TempDir())
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/openapi.json": 200} {
		if r := s.do("GET", path, s.token(domain.RoleAuditor, "ops"), nil); r.status != want {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
	}
	var v struct {
		Position uint64 `json:"position"`
	}
	s.do("POST", "/v1/loan-requests", s.token(domain.RoleBank, bnp), loanRequest(siren, bnp, 1000, "2020-05-04")).json(t, &v)
	if err := s.rm.WaitForPosition(t.Context(), v.Position); err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Ready      bool `json:"ready"`
		Projectors []struct {
			Name        string `json:"name"`
			Position    uint64 `json:"position"`
			DeadLetters int64  `json:"deadLetters"`
		} `json:"projectors"`
	}
	s.do("GET", "/readyz", s.token(domain.RoleAuditor, "ops"), nil).json(t, &ready)
	if !ready.Ready || len(ready.Projectors) != 4 || ready.Projectors[0].Position != v.Position || ready.Projectors[0].DeadLetters != 0 {
		t.Fatalf("readyz %+v", ready)
	}
	s.do("GET", "/v1/events", "", nil)
	m := s.do("GET", "/metrics", s.token(domain.RoleAuditor, "ops"), nil)
	for _, name := range []string{"ledger_http_request_seconds", "ledger_append_seconds", "ledger_auth_failures_total"} {
		if !strings.Contains(string(m.body), name) {
			t.Fatalf("metric %s missing", name)
		}
	}
}

func TestRestartKeepsEverythingAndResumesProjections(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, dir)
	bank := s.token(domain.RoleBank, bnp)
	var v struct {
		RequestID string `json:"requestId"`
		Position  uint64 `json:"position"`
	}
	for i, sn := range []string{siren, siren2} {
		s.do("POST", "/v1/loan-requests", bank, loanRequest(sn, bnp, int64(1000000+i), "2020-05-04")).json(t, &v)
	}
	before := s.do("GET", "/v1/loan-requests/"+v.RequestID+"?minPosition="+itoa(v.Position), bank, nil)
	s.stop()

	s2 := startService(t, dir)
	if s2.head() != v.Position {
		t.Fatalf("head %d after restart, want %d", s2.head(), v.Position)
	}
	after := s2.do("GET", "/v1/loan-requests/"+v.RequestID, s2.token(domain.RoleBank, bnp), nil)
	if after.status != 200 || string(after.body) != string(before.body) {
		t.Fatalf("after restart:\n%s\n%s", after.body, before.body)
	}
	if applied := maxApplied(t, s2); applied != 0 {
		t.Fatalf("projections replayed %d events after restart instead of resuming", applied)
	}
	s2.do("POST", "/v1/loan-requests", s2.token(domain.RoleBank, bnp), loanRequest("356000000", bnp, 1000, "2020-05-04")).json(t, &v)
	if err := s2.rm.WaitForPosition(t.Context(), v.Position); err != nil {
		t.Fatal(err)
	}
	if applied := maxApplied(t, s2); applied != 3 {
		t.Fatalf("applied %d events after one more request, want 3", applied)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// maxApplied returns the most events any projector applied since start.
func maxApplied(t *testing.T, s *service) uint64 {
	t.Helper()
	st, err := s.rm.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var most uint64
	for _, p := range st {
		most = max(most, p.Applied)
	}
	return most
}

func TestMethodsParamsAndFiltersAreChecked(t *testing.T) {
	s := startService(t, t.TempDir())
	auditor := s.token(domain.RoleAuditor, "a")
	r := s.do("DELETE", "/v1/loan-requests", auditor, nil)
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
		t.Fatalf("DELETE: %d allow %q %s", r.status, r.header.Get("Allow"), r.body)
	}
	r.problem(t)
	for _, path := range []string{
		"/v1/attestations?minPosition=abc", "/v1/events?minPosition=-1", "/v1/attestations?siren=123",
		"/v1/attestations?bankCode=BNP", "/v1/attestations?limit=0", "/v1/attestations?status=lost",
		"/v1/attestations?issuedFrom=2020-13-01", "/v1/events?from=0", "/v1/companies/123/history",
	} {
		if r := s.do("GET", path, auditor, nil); r.status != 400 {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
}

// An event no projector can apply is dead-lettered: /readyz shows it and
// the metrics count it, and the service stays ready and answering.
func TestDeadLettersShowInReadyzAndMetrics(t *testing.T) {
	s := startService(t, t.TempDir())
	// Written by the ledger (its provenance verifies), yet not decodable.
	poison := eventstore.NewEvent{
		ID: "poison-1", Type: domain.TypeLoanRequestSubmitted, SchemaVersion: 1, OccurredAt: time.Now(),
		Data: []byte(`{"requestId":"x","siren":"not a siren"}`),
	}
	s.app.Provenance().Sign("company-732829320", 1, &poison)
	res, err := s.store.Append(t.Context(), "company-732829320", eventstore.NoStream(), poison)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.rm.WaitForPosition(t.Context(), res.Position); err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	r := s.do("GET", "/readyz", s.token(domain.RoleAuditor, "ops"), nil)
	r.json(t, &ready)
	if r.status != 200 || !ready.Ready || !strings.Contains(ready.Checks["deadLetters"], "could not be applied") {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}
	if m := s.do("GET", "/metrics", s.token(domain.RoleAuditor, "ops"), nil); !strings.Contains(string(m.body), `ledger_projection_dead_letters_total{projector="loan_requests"} 1`) {
		t.Fatalf("metrics:\n%s", m.body)
	}
}
