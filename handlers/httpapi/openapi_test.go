package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oklog/ulid/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := loadOpenAPI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if !json.Valid(openAPIDoc) {
		t.Error("openapi.json is not valid JSON")
	}
}

// TestOpenAPIRoutesMatchServer checks that the document describes exactly
// the server's routes (and the planned ones).
func TestOpenAPIRoutesMatchServer(t *testing.T) {
	doc, err := loadOpenAPI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	served := routePatterns()
	for _, p := range served {
		if strings.Count(p, " ") != 1 {
			t.Errorf("route %q: want METHOD /path", p)
		}
		if !slices.Contains(documented, p) {
			t.Errorf("route %q is not in openapi.json", p)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("openapi.json documents %q, which the server does not serve (nor plans to)", d)
		}
	}
}

// TestOpenAPIConventions checks the document's cross-cutting rules
// (API.md, Conventions), so that a new operation cannot forget one.
func TestOpenAPIConventions(t *testing.T) {
	doc, err := loadOpenAPI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hasParam := func(op *openapi3.Operation, in, name string) bool {
		for _, p := range op.Parameters {
			if p.Value != nil && p.Value.In == in && p.Value.Name == name {
				return true
			}
		}
		return false
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			v1 := strings.HasPrefix(path, "/v1/")
			if v1 && (op.Security != nil && len(*op.Security) == 0) {
				t.Errorf("%s: /v1 operations need the bearer token", where)
			}
			// Ops endpoints are public, but /metrics (auditors and
			// admins: it reveals volumes and internals).
			if !v1 && path != "/metrics" && (op.Security == nil || len(*op.Security) != 0) {
				t.Errorf("%s: ops endpoints are public (security: [])", where)
			}
			if method == http.MethodPost && !hasParam(op, "header", "Idempotency-Key") {
				t.Errorf("%s: no Idempotency-Key", where)
			}
			if method == http.MethodPost && op.RequestBody == nil {
				t.Errorf("%s: no request body", where)
			}
			if method == http.MethodGet && v1 && !hasParam(op, "query", "minPosition") {
				t.Errorf("%s: no minPosition", where)
			}
			want := []string{"429", "500"}
			if v1 {
				want = append(want, "401")
			}
			if method == http.MethodPost {
				want = append(want, "400", "413", "415")
			}
			for _, code := range want {
				if op.Responses.Value(code) == nil {
					t.Errorf("%s: no %s response", where, code)
				}
			}
			for code, r := range op.Responses.Map() {
				if r.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %s: no X-Request-Id header", where, code)
				}
				if code >= "400" && r.Value.Content.Get("application/problem+json") == nil && !(path == "/readyz" && code == "503") {
					t.Errorf("%s %s: not a problem", where, code)
				}
				if (code == "429" || (code == "503" && path != "/readyz")) && r.Value.Headers["Retry-After"] == nil {
					t.Errorf("%s %s: no Retry-After header", where, code)
				}
			}
			if op.RequestBody != nil {
				for mt, c := range op.RequestBody.Value.Content { // a batch's lines too
					s := c.Schema.Value
					if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
						t.Errorf("%s %s: the request body must forbid unknown fields", where, mt)
					}
				}
			}
		}
	}
	// Every reason code the domain knows is in the enum.
	codes := doc.Components.Schemas["ReasonCode"].Value.Enum
	for _, c := range []domain.ReasonCode{domain.ReasonOutsideProgrammeWindow, domain.ReasonExcludedLegalForm,
		domain.ReasonExcludedCreditInstitution, domain.ReasonCollectiveProceeding, domain.ReasonOneAttestationUntilMay,
		domain.ReasonCeilingExceeded, domain.ReasonLargeCompanyStateDecree, domain.ReasonStateRefused} {
		if !slices.Contains(codes, any(string(c))) {
			t.Errorf("reason code %s is not in the ReasonCode enum", c)
		}
	}
	// The examples of attestation numbers are real numbers.
	for _, ex := range append(doc.Components.Schemas["AttestationNumber"].Value.Examples,
		doc.Components.Parameters["NumberPath"].Value.Example) {
		if _, err := domain.ParseAttestationNumber(fmt.Sprint(ex)); err != nil {
			t.Errorf("example %v: %v", ex, err)
		}
	}
}

// recordingT records the failures of a check that must fail.
type recordingT struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingT) Helper() {}

func (r *recordingT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingT) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

// isolatedConformance is a checker whose checks do not count in the
// package's coverage report (which is for the end-to-end tests).
func isolatedConformance(t *testing.T) *conformance {
	t.Helper()
	c := newConformance(t)
	c.cov = &coverage{hits: map[coverageKey]int{}}
	return c
}

// fixture is a company's history made by the domain, folded into the
// views the server sends.
type fixture struct {
	envs     []eventstore.Envelope
	request  projections.LoanRequestView
	rejected projections.LoanRequestView
	pending  projections.LoanRequestView
	refused  projections.LoanRequestView
	issued   projections.AttestationView
	granted  projections.AttestationView
	canceled projections.AttestationView
	company  projections.CompanyView
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	siren := must(domain.ParseSIREN("732829320"))
	bank := must(domain.ParseBankCode("30004"))
	bankActor := domain.Actor{Role: domain.RoleBank, ID: "30004"}
	balance := domain.Cents(40_000_000)
	profile := domain.CompanyProfile{
		Name: "Boulangerie Martin", LegalForm: "SAS", NAF: must(domain.ParseNAF("10.71C")),
		Region: must(domain.ParseRegion("11")), Headcount: 12, Turnover: 85_000_000, BalanceSheet: &balance,
		Payroll: 30_000_000, CreatedOn: domain.MustDate("2012-05-14"),
		CollectiveProceeding: domain.CollectiveProceeding{Kind: domain.ProceedingNone},
	}
	large := profile
	large.Headcount = 6000
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	c := domain.NewCompany(siren)
	var f fixture
	record := func(events []domain.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if err := c.Apply(e); err != nil {
				t.Fatal(err)
			}
			n := uint64(len(f.envs) + 1)
			f.envs = append(f.envs, eventstore.Envelope{
				Position: n, Stream: c.Stream(), Version: n, Type: e.EventType(), SchemaVersion: e.EventSchemaVersion(),
				ID: ulid.Make().String(), OccurredAt: now, Actor: eventstore.Actor{Role: "bank", ID: "30004"},
				CorrelationID: ulid.Make().String(), CausationID: "cmd-" + ulid.Make().String(), Data: must(domain.EncodeEvent(e)),
			})
		}
		now = now.Add(time.Minute)
	}
	number := func(b byte) domain.AttestationNumber {
		return domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{b, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	}
	submit := func(amount domain.Cents, p domain.CompanyProfile, b byte) string {
		id := ulid.Make().String()
		record(c.SubmitLoanRequest(domain.SubmitLoanRequest{
			RequestID: id, SIREN: siren, Bank: bank, Amount: amount, RequestedOn: domain.MustDate("2020-05-04"),
			Profile: p, Number: number(b), By: bankActor,
		}, now))
		return id
	}
	ok1 := submit(5_000_000, profile, 1)
	ok2 := submit(5_000_000, profile, 2)
	_ = submit(5_000_000, profile, 3)
	tooMuch := submit(50_000_000, profile, 4)
	pending := submit(1_000_000, large, 5)
	refused := submit(1_000_000, large, 6)
	record(c.GrantLoan(domain.GrantLoan{Number: number(2), Amount: 4_000_000, GrantedOn: domain.MustDate("2020-05-10"), DurationMonths: 72, By: bankActor}, now))
	record(c.CancelAttestation(domain.CancelAttestation{Number: number(3), Reason: "no longer needed", By: bankActor}, now))
	record(c.RecordStateDecision(domain.RecordStateDecision{RequestID: refused, Approved: false, By: domain.Actor{Role: domain.RoleAdmin, ID: "ops-1"}}, now))

	fold := func(id string) projections.LoanRequestView {
		v := projections.LoanRequestView{RequestID: id}
		for _, env := range f.envs {
			v.Apply(env, must(projections.Decode(env)))
		}
		return v
	}
	foldA := func(n domain.AttestationNumber) projections.AttestationView {
		v := projections.AttestationView{Number: n.String()}
		for _, env := range f.envs {
			v.Apply(env, must(projections.Decode(env)))
		}
		return v
	}
	f.request, f.rejected, f.pending, f.refused = fold(ok1), fold(tooMuch), fold(pending), fold(refused)
	f.issued, f.granted, f.canceled = foldA(number(1)), foldA(number(2)), foldA(number(3))
	for _, want := range []struct {
		got, want string
	}{
		{f.request.Status, "attested"}, {f.rejected.Status, "rejected"}, {f.pending.Status, "pending_state_review"},
		{f.refused.Status, "rejected"}, {f.issued.Status, "issued"}, {f.granted.Status, "loan_granted"},
		{f.canceled.Status, "cancelled"}, {fold(ok2).Status, "attested"},
	} {
		if want.got != want.want {
			t.Fatalf("fixture: status %q, want %q", want.got, want.want)
		}
	}
	f.company = projections.CompanyView{
		SIREN: siren.String(), Name: profile.Name, SizeCategory: profile.SizeCategory(), CeilingCents: c.Ceiling(),
		AttestedCents: 10_000_000, RemainingCeilingCents: c.Ceiling() - 10_000_000,
		Attestations: []string{f.issued.Number, f.granted.Number, f.canceled.Number}, Position: uint64(len(f.envs)),
	}
	return f
}

// exchange is a canned request and response.
type exchange struct {
	name       string
	method     string
	target     string
	reqBody    string
	reqHeader  http.Header
	status     int
	respHeader http.Header
	respBody   []byte
}

func (e exchange) run(t testing.TB, c *conformance) {
	var body *strings.Reader
	if e.reqBody != "" {
		body = strings.NewReader(e.reqBody)
	}
	var req *http.Request
	if body != nil {
		req = httptest.NewRequest(e.method, e.target, body)
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(e.method, e.target, nil)
	}
	req.Header.Set("Authorization", "Bearer x.y.z")
	for k, v := range e.reqHeader {
		req.Header[k] = v
	}
	h := http.Header{"X-Request-Id": {"01JDQ3S0W8ZK4N6Y2V5T7R9P1M"}, "Content-Type": {"application/json"}}
	for k, v := range e.respHeader {
		h[k] = v
	}
	c.check(t, req, []byte(e.reqBody), &http.Response{StatusCode: e.status, Header: h}, e.respBody)
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil { // as writeJSON does
		t.Fatal(err)
	}
	return b.Bytes()
}

// edit returns the JSON of v changed by fn (on its generic form).
func edit(t *testing.T, v any, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(jsonOf(t, v), &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	return jsonOf(t, m)
}

func problemJSON(t *testing.T, status int, errs ...domain.FieldError) []byte {
	t.Helper()
	p := problemOf(errors.New("boom"))
	switch status {
	case 400:
		p = problemOf(&domain.ValidationError{Errors: errs})
	case 401:
		p = problemOf(auth.ErrUnauthenticated)
	case 404:
		p = problemOf(domain.ErrNotFound)
	case 429:
		p = problemOf(errTooBusy)
	}
	p.Instance, p.RequestID = "/v1/x", "01JDQ3S0W8ZK4N6Y2V5T7R9P1M"
	return jsonOf(t, p)
}

const sampleLoanRequest = `{"siren":"732829320","bankCode":"30004","amountCents":15000000,"requestedOn":"2020-03-27",
"company":{"name":"Boulangerie Martin","legalForm":"SAS","nafCode":"10.71C","regionCode":"11","headcount":12,
"turnoverCents":85000000,"balanceSheetCents":40000000,"payrollCents":30000000,"createdOn":"2012-05-14",
"innovative":false,"collectiveProceeding":{"kind":"none","openedOn":null}}}`

// signedCheckpoint returns a checkpoint signed the way the ledger signs
// them, and its verifier key.
func signedCheckpoint(t *testing.T) (string, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "ledger.example/pge")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: "ledger.example/pge\n12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	return string(msg), vkey + "\n"
}

func TestConformanceAcceptsWhatTheServerSends(t *testing.T) {
	c := isolatedConformance(t)
	f := newFixture(t)
	checkpoint, vkey := signedCheckpoint(t)
	var entries bytes.Buffer
	for _, env := range f.envs {
		entries.Write(jsonOf(t, env))
	}
	hash := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	text := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	u := "/v1/attestations/" + f.issued.Number
	for _, e := range []exchange{
		{name: "submit attested", method: "POST", target: "/v1/loan-requests", reqBody: sampleLoanRequest,
			reqHeader: http.Header{"Idempotency-Key": {"k-1"}}, status: 201, respBody: jsonOf(t, f.request)},
		{name: "submit rejected", method: "POST", target: "/v1/loan-requests", reqBody: sampleLoanRequest, status: 201, respBody: jsonOf(t, f.rejected)},
		{name: "submit pending", method: "POST", target: "/v1/loan-requests", reqBody: sampleLoanRequest, status: 201, respBody: jsonOf(t, f.pending)},
		{name: "submit invalid", method: "POST", target: "/v1/loan-requests", reqBody: `{"siren":"732829321"}`, status: 400,
			respHeader: http.Header{"Content-Type": {"application/problem+json"}},
			respBody:   problemJSON(t, 400, domain.FieldError{Field: "siren", Message: "fails its Luhn checksum"})},
		{name: "submit unknown field", method: "POST", target: "/v1/loan-requests", reqBody: `{"nope":1}`, status: 400,
			respHeader: http.Header{"Content-Type": {"application/problem+json"}}, respBody: problemJSON(t, 400, domain.FieldError{Field: "nope", Message: "unknown field"})},
		{name: "state decision", method: "POST", target: "/v1/loan-requests/" + f.refused.RequestID + "/state-decision",
			reqBody: `{"approved":false}`, status: 200, respBody: jsonOf(t, f.refused)},
		{name: "grant", method: "POST", target: "/v1/attestations/" + f.granted.Number + "/grant",
			reqBody: `{"grantedAmountCents":4000000,"grantedOn":"2020-05-10","durationMonths":72}`, status: 200, respBody: jsonOf(t, f.granted)},
		{name: "cancel", method: "POST", target: "/v1/attestations/" + strings.ToLower(f.canceled.Number) + "/cancel",
			reqBody: `{"reason":"no longer needed"}`, status: 200, respBody: jsonOf(t, f.canceled)},
		{name: "busy", method: "POST", target: "/v1/attestations/" + f.canceled.Number + "/cancel", reqBody: `{}`, status: 429,
			respHeader: http.Header{"Content-Type": {"application/problem+json"}, "Retry-After": {"1"}}, respBody: problemJSON(t, 429)},
		{name: "get request", method: "GET", target: "/v1/loan-requests/" + f.request.RequestID + "?minPosition=3", status: 200, respBody: jsonOf(t, f.request)},
		{name: "get attestation", method: "GET", target: u, status: 200, respBody: jsonOf(t, f.issued)},
		{name: "get attestation asOf", method: "GET", target: u + "?asOf=2026-11-28T10:00:00Z", status: 200, respBody: jsonOf(t, f.issued)},
		{name: "get attestation malformed", method: "GET", target: "/v1/attestations/PGE-1", status: 400,
			respHeader: http.Header{"Content-Type": {"application/problem+json"}}, respBody: problemJSON(t, 400)},
		{name: "list", method: "GET", target: "/v1/attestations?status=issued&limit=2&bankCode=30004&issuedFrom=2020-01-01", status: 200,
			respBody: jsonOf(t, projections.AttestationPage{Items: []projections.AttestationView{f.issued, f.granted}, NextCursor: "abc"})},
		{name: "list empty", method: "GET", target: "/v1/attestations", status: 200, respBody: jsonOf(t, projections.AttestationPage{Items: []projections.AttestationView{}})},
		{name: "company", method: "GET", target: "/v1/companies/732829320", status: 200, respBody: jsonOf(t, f.company)},
		{name: "history", method: "GET", target: "/v1/companies/732829320/history", status: 200,
			respBody: jsonOf(t, map[string]any{"siren": "732829320", "items": f.envs})},
		{name: "events", method: "GET", target: "/v1/events?from=1&limit=1000", status: 200, respBody: jsonOf(t, eventsPage{Items: []any{f.envs[0]}, Next: 2})},
		{name: "report", method: "GET", target: "/v1/reports/pge?groupBy=size&from=2020-03-16", status: 200,
			respBody: jsonOf(t, map[string]any{"groupBy": "size", "rows": []projections.ReportRow{{Key: "micro", Label: "Microentreprise", Requests: 1}, {Key: "total", Label: "Total", Requests: 1}}})},
		{name: "report csv", method: "GET", target: "/v1/reports/pge?groupBy=size&format=csv", status: 200,
			respHeader: http.Header{"Content-Type": {"text/csv; charset=utf-8"}},
			respBody:   []byte("key,label,requests,attested,rejected,attestedCents,guaranteedCents,granted,grantedCents,pending,cancelled,requestedCents\ntotal,Total,1,1,0,5,4,0,0,0,0,5\n")},
		{name: "not found", method: "GET", target: "/v1/nope", status: 404,
			respHeader: http.Header{"Content-Type": {"application/problem+json"}}, respBody: problemJSON(t, 404)},
		{name: "unauthenticated", method: "GET", target: "/v1/events", reqHeader: http.Header{"Authorization": {""}}, status: 401,
			respHeader: http.Header{"Content-Type": {"application/problem+json"}}, respBody: problemJSON(t, 401)},
		{name: "checkpoint", method: "GET", target: "/v1/ledger/checkpoint", status: 200, respHeader: text, respBody: []byte(checkpoint)},
		{name: "verifier key", method: "GET", target: "/v1/ledger/verifier-key", status: 200, respHeader: text, respBody: []byte(vkey)},
		{name: "entries", method: "GET", target: "/v1/ledger/entries?from=0&limit=10", status: 200,
			respHeader: http.Header{"Content-Type": {"application/x-ndjson"}}, respBody: entries.Bytes()},
		{name: "inclusion", method: "GET", target: "/v1/ledger/proofs/inclusion?index=0&size=3", status: 200,
			respBody: []byte(`{"index":0,"size":3,"leafHash":"` + hash + `","hashes":["` + hash + `","` + hash + `"]}`)},
		{name: "consistency", method: "GET", target: "/v1/ledger/proofs/consistency?from=0&to=3", status: 200,
			respBody: []byte(`{"from":0,"to":3,"hashes":[]}`)},
		{name: "attestation proof", method: "GET", target: u + "/proof", status: 200,
			respBody: jsonOf(t, map[string]any{"entry": string(jsonOf(t, f.envs[0])[:len(jsonOf(t, f.envs[0]))-1]), "index": 0, "checkpoint": checkpoint, "hashes": []string{hash}})},
		{name: "healthz", method: "GET", target: "/healthz", reqHeader: http.Header{"Authorization": nil}, status: 200, respBody: []byte(`{"status":"ok"}`)},
		{name: "readyz", method: "GET", target: "/readyz", status: 503, respBody: []byte(`{"ready":false,"checks":{"store":"down"}}`)},
		{name: "metrics", method: "GET", target: "/metrics", status: 200,
			respHeader: http.Header{"Content-Type": {"text/plain; version=0.0.4; charset=utf-8; escaping=underscores"}}, respBody: []byte("# HELP x y\nx 1\n")},
		{name: "openapi", method: "GET", target: "/openapi.json", status: 200, respBody: openAPIDoc},
	} {
		t.Run(e.name, func(t *testing.T) { e.run(t, c) })
	}
	if r := c.report(true); !strings.Contains(r, "exercised") {
		t.Errorf("report: %q", r)
	}
}

func TestConformanceRejectsWhatTheDocumentDoesNotSay(t *testing.T) {
	c := isolatedConformance(t)
	f := newFixture(t)
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	for _, e := range []exchange{
		{name: "undocumented status", method: "GET", target: "/v1/loan-requests/x", status: http.StatusTeapot, respBody: jsonOf(t, f.request)},
		{name: "missing required field", method: "GET", target: "/v1/loan-requests/x", status: 200,
			respBody: edit(t, f.request, func(m map[string]any) { delete(m, "status") })},
		{name: "undocumented field", method: "GET", target: "/v1/loan-requests/x", status: 200,
			respBody: edit(t, f.request, func(m map[string]any) { m["surprise"] = 1 })},
		{name: "nested undocumented field", method: "GET", target: "/v1/loan-requests/x", status: 200,
			respBody: edit(t, f.request, func(m map[string]any) { m["attestation"].(map[string]any)["surprise"] = 1 })},
		{name: "unknown status value", method: "GET", target: "/v1/attestations/" + f.issued.Number, status: 200,
			respBody: edit(t, f.issued, func(m map[string]any) { m["status"] = "granted" })},
		{name: "unknown reason code", method: "GET", target: "/v1/loan-requests/x", status: 200,
			respBody: edit(t, f.rejected, func(m map[string]any) { m["reasons"] = []any{map[string]any{"code": "NOPE", "message": ""}} })},
		{name: "null list", method: "GET", target: "/v1/companies/732829320", status: 200,
			respBody: edit(t, f.company, func(m map[string]any) { m["attestations"] = nil })},
		{name: "instant not UTC", method: "GET", target: "/v1/attestations/" + f.issued.Number, status: 200,
			respBody: edit(t, f.issued, func(m map[string]any) { m["issuedAt"] = "2026-11-28T11:00:00+01:00" })},
		{name: "bad number", method: "GET", target: "/v1/attestations/" + f.issued.Number, status: 200,
			respBody: edit(t, f.issued, func(m map[string]any) { m["number"] = "PGE-ZZZZ-ZZZZ-ZZZZ-ZZZZ" })},
		{name: "wrong content type", method: "GET", target: "/v1/loan-requests/x", status: 404, respBody: problemJSON(t, 404)},
		{name: "problem status differs", method: "GET", target: "/v1/loan-requests/x", status: 404, respHeader: problem, respBody: problemJSON(t, 401)},
		{name: "429 without Retry-After", method: "GET", target: "/v1/loan-requests/x", status: 429, respHeader: problem, respBody: problemJSON(t, 429)},
		{name: "no request id", method: "GET", target: "/healthz", status: 200, respHeader: http.Header{"X-Request-Id": nil}, respBody: []byte(`{"status":"ok"}`)},
		{name: "invalid request accepted", method: "POST", target: "/v1/loan-requests", reqBody: `{"nope":1}`, status: 201, respBody: jsonOf(t, f.request)},
		{name: "no token accepted", method: "GET", target: "/v1/events", reqHeader: http.Header{"Authorization": nil}, status: 200,
			respBody: jsonOf(t, eventsPage{Items: []any{}, Next: 1})},
		{name: "undocumented path answered", method: "GET", target: "/v2/nope", status: 200, respBody: []byte(`{}`)},
		{name: "bad ndjson line", method: "GET", target: "/v1/ledger/entries", status: 200,
			respHeader: http.Header{"Content-Type": {"application/x-ndjson"}}, respBody: []byte("{\"position\":0}\n")},
		{name: "bad csv header", method: "GET", target: "/v1/reports/pge?groupBy=size", status: 200,
			respHeader: http.Header{"Content-Type": {"text/csv"}}, respBody: []byte("a,b\n")},
	} {
		t.Run(e.name, func(t *testing.T) {
			rt := &recordingT{TB: t}
			e.run(rt, c)
			if len(rt.errors) == 0 {
				t.Error("the check passed; want a failure")
			} else {
				t.Log(rt.errors[0])
			}
		})
	}
}
