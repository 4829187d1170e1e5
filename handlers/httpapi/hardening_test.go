package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oklog/ulid/v2"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/queries"
)

// Made-up methods (sent with no token) used to become label values of
// /metrics: 2,300 of them made 3.9 MB. Now every one is "OTHER", and
// /metrics itself needs an auditor's or an admin's token.
func TestUnknownMethodsDoNotBecomeMetricLabels(t *testing.T) {
	s := startService(t, t.TempDir())
	for i := range 40 {
		r, _, _ := s.exchange(fmt.Sprintf("MADEUP%d", i), "/v1/events", "", nil)
		if r.status < 400 {
			t.Fatalf("MADEUP%d: %d", i, r.status)
		}
	}
	m := s.do("GET", "/metrics", s.token(domain.RoleAuditor, "ops"), nil)
	if m.status != 200 || strings.Contains(string(m.body), "MADEUP") || !strings.Contains(string(m.body), `method="OTHER"`) {
		t.Fatalf("metrics (%d) hold made-up methods, or no OTHER:\n%s", m.status, grepLines(string(m.body), "ledger_http_request_seconds_count"))
	}
	for _, l := range strings.Split(grepLines(string(m.body), "ledger_http_request_seconds_count"), "\n") {
		if strings.Contains(l, "/v1/events\"") && !strings.Contains(l, `route="`) {
			t.Fatalf("a raw path as a label: %s", l)
		}
	}
	// /metrics: 401 without a token, 403 for a company, 200 for an admin.
	if r := s.do("GET", "/metrics", "", nil); r.status != 401 {
		t.Fatalf("/metrics without a token: %d", r.status)
	}
	if r := s.do("GET", "/metrics", s.token(domain.RoleCompany, siren), nil); r.status != 403 {
		t.Fatalf("/metrics as a company: %d", r.status)
	}
	if r := s.do("GET", "/metrics", s.token(domain.RoleAdmin, "ops"), nil); r.status != 200 {
		t.Fatalf("/metrics as an admin: %d", r.status)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// /readyz answers anyone (a load balancer) with its status only; its
// checks, projectors and untrusted events only to auditors and admins.
func TestReadyzDetailsOnlyForOps(t *testing.T) {
	s := startService(t, t.TempDir())
	for _, tok := range []string{"", "garbage", s.token(domain.RoleBank, bnp)} {
		r := s.do("GET", "/readyz", tok, nil)
		if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"ready":true}` {
			t.Fatalf("readyz with token %.10q: %d %s", tok, r.status, r.body)
		}
	}
	for _, role := range []domain.Role{domain.RoleAuditor, domain.RoleAdmin} {
		r := s.do("GET", "/readyz", s.token(role, "ops"), nil)
		if r.status != 200 || !strings.Contains(string(r.body), `"checks"`) || !strings.Contains(string(r.body), `"projectors"`) {
			t.Fatalf("readyz as %s: %d %s", role, r.status, r.body)
		}
	}
}

// Every answer carries Cache-Control: no-store and X-Content-Type-Options:
// nosniff, and the Bearer scheme is matched case-insensitively.
func TestEveryAnswerIsNoStoreNoSniffAndBearerIsCaseInsensitive(t *testing.T) {
	s := startService(t, t.TempDir())
	auditor := s.token(domain.RoleAuditor, "a")
	for _, c := range []struct{ method, path, token string }{
		{"GET", "/healthz", ""}, {"GET", "/readyz", ""}, {"GET", "/openapi.json", ""}, {"GET", "/v1/events", auditor},
		{"GET", "/v1/events", ""}, {"GET", "/v1/nope", auditor}, {"DELETE", "/v1/events", auditor}, {"GET", "/metrics", auditor},
	} {
		r, _, _ := s.exchange(c.method, c.path, c.token, nil)
		if r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s (%d): Cache-Control %q, X-Content-Type-Options %q", c.method, c.path, r.status,
				r.header.Get("Cache-Control"), r.header.Get("X-Content-Type-Options"))
		}
	}
	for _, scheme := range []string{"bearer", "BEARER", "BeArEr"} {
		r, _, _ := s.exchange("GET", "/v1/events", "", nil, "Authorization", scheme+" "+auditor)
		if r.status != 200 {
			t.Errorf("scheme %q: %d %s", scheme, r.status, r.body)
		}
	}
	for _, bad := range []string{"Basic " + auditor, "Bearer", "Bearer ", auditor, "Bearer" + auditor} {
		if r, _, _ := s.exchange("GET", "/v1/events", "", nil, "Authorization", bad); r.status != 401 {
			t.Errorf("Authorization %.20q: %d", bad, r.status)
		}
	}
}

// A client's X-Request-Id is kept only if it is 1 to 64 characters among
// letters, digits and -._: ; anything else is replaced by a new ULID
// before it reaches an event (the command's correlation id) or a log
// line.
func TestUnsafeRequestIDsAreReplaced(t *testing.T) {
	s := startService(t, t.TempDir())
	bank := s.token(domain.RoleBank, bnp)
	for _, bad := range []string{"<img src=x onerror=alert(1)>", strings.Repeat("a", 65), "a b", "naïve", "x;drop", "\"quoted\"", "a\\b"} {
		r := s.do("POST", "/v1/loan-requests", bank, loanRequest(siren, bnp, 1000, "2020-05-04"), "X-Request-Id", bad, "Idempotency-Key", ulid.Make().String())
		got := r.header.Get("X-Request-Id")
		if got == bad {
			t.Fatalf("request id %q kept", bad)
		}
		if _, err := ulid.ParseStrict(got); err != nil {
			t.Fatalf("request id %q replaced by %q, not a ULID", bad, got)
		}
	}
	const good = "trace-01.span_2:x"
	if r := s.do("GET", "/healthz", "", nil, "X-Request-Id", good); r.header.Get("X-Request-Id") != good {
		t.Fatalf("a valid request id was replaced: %q", r.header.Get("X-Request-Id"))
	}
	ev := s.do("GET", "/v1/events", s.token(domain.RoleAuditor, "a"), nil)
	for _, leaked := range []string{"img src", "onerror", "drop", "quoted", strings.Repeat("a", 65)} {
		if strings.Contains(string(ev.body), leaked) {
			t.Fatalf("an unsafe request id reached the events: %q", leaked)
		}
	}
}

// unavailableStore is a store whose global log answers with an internal
// NATS error.
type unavailableStore struct{ eventstore.Store }

func (unavailableStore) ReadAll(context.Context, uint64, int) ([]eventstore.Envelope, error) {
	return nil, errs.Wrap(errs.Unavailable, fmt.Errorf("read the log: nats: no responders available for request on $JS.API.STREAM.MSG.GET.LEDGER_EVENTS"))
}

// A 503 says the service cannot answer, not how it is built: the NATS
// error goes to the log only, with the request id.
func TestUnavailableAnswersDoNotEchoInternalErrors(t *testing.T) {
	var logs syncBuffer
	s := startService(t, t.TempDir(), func(c *httpapi.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		c.Store = unavailableStore{c.Store}
		qs, err := queries.New(queries.Config{Store: c.Store, ReadModels: c.ReadModels.(queries.ReadModels), Ledger: c.Ledger})
		if err != nil {
			t.Fatal(err)
		}
		c.Queries = qs
	})
	r := s.do("GET", "/v1/events", s.token(domain.RoleAuditor, "a"), nil, "X-Request-Id", "req-503-1")
	if r.status != 503 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	p := r.problem(t)
	for _, leak := range []string{"nats", "$JS", "LEDGER_EVENTS", "responders"} {
		if strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(leak)) {
			t.Fatalf("the 503 body reveals %q: %s", leak, r.body)
		}
	}
	if p.RequestID != "req-503-1" || p.Detail == "" {
		t.Fatalf("problem %+v", p)
	}
	if l := find(logs.lines(t), "request failed", "req-503-1"); l == nil || !strings.Contains(fmt.Sprint(l["err"]), "no responders") {
		t.Fatalf("the real error is not in the log: %v", l)
	}
}

// The request header is bounded (MaxHeaderBytes): a 64 KiB header is
// answered 431 by the server the binary runs.
func TestHeadersAreBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }), slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	if srv.MaxHeaderBytes != httpapi.MaxHeaderBytes || srv.ReadHeaderTimeout == 0 {
		t.Fatalf("limits %d %v", srv.MaxHeaderBytes, srv.ReadHeaderTimeout)
	}
	send := func(size int) int {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
		req.Header.Set("X-Filler", strings.Repeat("x", size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(4 << 10); code != 204 {
		t.Fatalf("a 4 KiB header: %d", code)
	}
	if code := send(64 << 10); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 64 KiB header: %d, want 431", code)
	}
}

// signWithServiceKey signs any claims with the service's own token key, as
// a holder of a copy of the key, or an older version, could.
func signWithServiceKey(t *testing.T, s *service, c jwt.MapClaims) string {
	t.Helper()
	pemKey, err := os.ReadFile(filepath.Join(s.dir, "keys", auth.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.ParseEdPrivateKeyFromPEM(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(key.(ed25519.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Tokens signed by the service's key are refused without iss, aud or jti,
// beyond the role's maximum lifetime (an admin token until 2126), with an
// iat in the future or an exp given as a string.
func TestTokenLifecycleThroughHTTP(t *testing.T) {
	s := startService(t, t.TempDir())
	now := time.Now()
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": auth.TokenIssuer, "aud": auth.TokenAudience, "jti": "j-" + ulid.Make().String(),
			"sub": "root", "role": "admin", "iat": now.Unix(), "exp": now.Add(30 * time.Minute).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	if r := s.do("GET", "/v1/events", signWithServiceKey(t, s, good()), nil); r.status != 200 {
		t.Fatalf("a well-formed admin token: %d %s", r.status, r.body)
	}
	for name, c := range map[string]jwt.MapClaims{
		"admin until 2126":    with("exp", time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC).Unix()),
		"iat 10 years ahead":  with("iat", now.AddDate(10, 0, 0).Unix()),
		"exp as a string":     with("exp", fmt.Sprint(now.Add(30*time.Minute).Unix())),
		"no iss":              with("iss", nil),
		"no aud":              with("aud", nil),
		"another audience":    with("aud", "another-service"),
		"no jti":              with("jti", nil),
		"no iat (old format)": with("iat", nil),
	} {
		if r := s.do("GET", "/v1/events", signWithServiceKey(t, s, c), nil); r.status != 401 {
			t.Errorf("%s: %d", name, r.status)
		}
	}
}

// recorder is a SecurityEvents sink that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []httpapi.SecurityEvent
}

func (r *recorder) Emit(_ context.Context, e httpapi.SecurityEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) byRequest(id string) []httpapi.SecurityEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []httpapi.SecurityEvent
	for _, e := range r.events {
		if e.RequestID == id {
			out = append(out, e)
		}
	}
	return out
}

// Successful authentications and denials (401, 403 by the route or by the
// handler, and the 404 that hides another tenant's resource) are each one
// security event, logged and counted, with who, role, tenant, route,
// result, source address and request id, and never the token.
func TestAuthenticationsAndDenialsAreSecurityEvents(t *testing.T) {
	var logs syncBuffer
	rec := &recorder{}
	s := startService(t, t.TempDir(), func(c *httpapi.Config) {
		c.SecurityEvents = rec
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	bankA, bankB := s.token(domain.RoleBank, bnp), s.token(domain.RoleBank, sg)
	var created struct {
		Position    uint64
		Attestation struct{ Number string }
	}
	s.do("POST", "/v1/loan-requests", bankA, loanRequest(siren, bnp, 1_000_000, "2020-05-04"), "X-Request-Id", "sec-ok").json(t, &created)
	if created.Attestation.Number == "" {
		t.Fatal("no attestation")
	}
	company := s.token(domain.RoleCompany, siren)
	cases := []struct {
		id, token, method, path string
		body                    any
		status                  int
		kind, result, role      string
		tenant, route           string
	}{
		{"sec-missing", "", "GET", "/v1/events", nil, 401, "authentication", httpapi.ResultMissing, "", "", "GET /v1/events"},
		{"sec-invalid", "not.a.token", "GET", "/v1/events", nil, 401, "authentication", httpapi.ResultInvalid, "", "", "GET /v1/events"},
		{"sec-route-403", company, "GET", "/v1/events", nil, 403, "denial", httpapi.ResultForbidden, "company", siren, "GET /v1/events"},
		{"sec-handler-403", company, "POST", "/v1/loan-requests", loanRequest(siren2, bnp, 1000, "2020-05-04"), 403, "denial", httpapi.ResultForbidden, "company", siren, "POST /v1/loan-requests"},
		// At the attestation's position: before the read models have it,
		// a 404 is the truth, not a hidden resource.
		{"sec-hidden-404", bankB, "GET", fmt.Sprintf("/v1/attestations/%s?minPosition=%d", created.Attestation.Number, created.Position), nil, 404, "denial", httpapi.ResultHidden, "bank", sg, "GET /v1/attestations/{number}"},
	}
	for _, c := range cases {
		if r := s.do(c.method, c.path, c.token, c.body, "X-Request-Id", c.id); r.status != c.status {
			t.Fatalf("%s: %d %s", c.id, r.status, r.body)
		}
		evs := rec.byRequest(c.id)
		last := evs[len(evs)-1]
		if last.Kind != c.kind || last.Result != c.result || string(last.Role) != c.role || last.Tenant != c.tenant ||
			last.Route != c.route || last.Status != c.status || last.Remote == "" || last.Time.IsZero() {
			t.Errorf("%s: event %+v", c.id, last)
		}
	}
	if evs := rec.byRequest("sec-ok"); len(evs) != 1 || evs[0].Result != httpapi.ResultSuccess || evs[0].Tenant != bnp || evs[0].Role != domain.RoleBank {
		t.Errorf("success: %+v", evs)
	}
	// Logged (warn for denials), and never with the token.
	lines := logs.lines(t)
	for _, c := range cases {
		var l map[string]any
		for _, line := range lines {
			if line["msg"] == "security" && line["request_id"] == c.id && line["result"] == c.result {
				l = line
			}
		}
		if l == nil || l["level"] != "WARN" || l["route"] != c.route || l["remote"] == "" {
			t.Errorf("%s: log line %v", c.id, l)
		}
	}
	if l := find(lines, "security", "sec-ok"); l == nil || l["level"] != "INFO" {
		t.Errorf("success: log line %v", l)
	}
	logs.mu.Lock()
	all := logs.buf.String()
	logs.mu.Unlock()
	for _, tok := range []string{bankA, bankB, company, "not.a.token"} {
		if strings.Contains(all, tok) {
			t.Fatal("a token reached the log")
		}
	}
	m := s.do("GET", "/metrics", s.token(domain.RoleAuditor, "ops"), nil)
	for _, want := range []string{
		`ledger_security_events_total{kind="denial",result="hidden",role="bank"} 1`,
		`ledger_security_events_total{kind="authentication",result="missing-token",role="none"} 1`,
	} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(string(m.body), "ledger_security_events_total"))
		}
	}
}
