package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
)

// garbage are values no client should send, for any parameter. Whatever
// they are, the answer is the client's error (4xx) or, where the value is
// legitimately accepted, a success: never a 5xx.
var garbage = []string{
	"", " ", "-1", "0", "abc", "1e309", "1.5", "NaN", "0x10", "+1", " 1",
	"18446744073709551616", "99999999999999999999999999", "-9223372036854775809",
	"2020-13-45", "2020-02-30", "0000-00-00", "2020-06-01T25:61:00Z", "9999-12-31",
	"\x00", "%00", "%zz", "\r\nX-Injected: 1", "\u202e", "ünïcødé ☃ 🚀", "\xff\xfe",
	"' OR 1=1 --", `"; DROP TABLE attestations; --`, "<script>alert(1)</script>",
	"../../../etc/passwd", "a/b", "null", "true", "{}", "[]",
	"PGE-0000-0000-0000-0000", "PGE-7KQ2-9XWM-HT3P-5DQ1", "732829321", "99999",
	strings.Repeat("9", 400), strings.Repeat("a", 10_000), strings.Repeat("€", 3_000),
}

// openAPIParam is a parameter of openapi.json.
type openAPIParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

// routeParams reads, from openapi.json, the parameters of every route:
// "METHOD /path" -> its parameters.
func routeParams(t *testing.T) map[string][]openAPIParam {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]struct{ Parameters []openAPIParam } `json:"paths"`
		Components struct {
			Parameters map[string]openAPIParam `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][]openAPIParam{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			var params []openAPIParam
			for _, p := range op.Parameters {
				if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
					p = doc.Components.Parameters[name]
				}
				if p.Name == "" {
					t.Fatalf("%s %s: unresolved parameter %+v", method, path, p)
				}
				params = append(params, p)
			}
			out[strings.ToUpper(method)+" "+path] = params
		}
	}
	return out
}

// TestGarbageNeverAnswers500 walks every route of the server, with every
// role allowed on it, and sends garbage in each query parameter, path
// value and header the route accepts (per openapi.json), one at a time
// with the others valid: every answer must be below 500, and a 4xx must be
// a problem document with the same status.
func TestGarbageNeverAnswers500(t *testing.T) {
	s := startService(t, t.TempDir(), withoutQuotas) // thousands of requests with one token each, on purpose
	tokens := map[domain.Role]string{
		domain.RoleCompany:   s.token(domain.RoleCompany, siren),
		domain.RoleBank:      s.token(domain.RoleBank, bnp),
		domain.RoleAuditor:   s.token(domain.RoleAuditor, "auditor-1"),
		domain.RoleRegulator: s.token(domain.RoleRegulator, "regulator-1"),
		domain.RoleAdmin:     s.token(domain.RoleAdmin, "admin-1"),
	}
	// An attestation, so that the valid base values name real resources.
	var created struct {
		RequestID   string `json:"requestId"`
		Attestation struct{ Number string }
	}
	s.do("POST", "/v1/loan-requests", tokens[domain.RoleBank], loanRequest(siren, bnp, 1_000_000, "2020-05-04")).json(t, &created)
	if created.Attestation.Number == "" {
		t.Fatal("no attestation to start from")
	}
	// valid values of every parameter, by route and name; the route "*"
	// gives the defaults.
	valid := map[string]map[string]string{
		"*": {
			"requestId": created.RequestID, "number": created.Attestation.Number, "siren": siren,
			"minPosition": "1", "Idempotency-Key": "", "X-Request-Id": "",
		},
		"GET /v1/attestations":                 {"cursor": "", "bankCode": bnp, "status": "issued", "issuedFrom": "2020-03-01", "issuedTo": "2020-12-31", "limit": "10"},
		"GET /v1/attestations/{number}":        {"asOf": time.Now().UTC().Add(time.Minute).Format(time.RFC3339)},
		"GET /v1/events":                       {"from": "1", "limit": "10"},
		"GET /v1/companies/{siren}/access-log": {"limit": "10", "cursor": ""},
		"GET /v1/reports/pge":                  {"groupBy": "region", "from": "2020-03-01", "to": "2020-12-31", "format": "json"},
		"GET /v1/reports/security":             {"from": "2026-11-01", "to": "2026-11-02", "format": "json"},
		"GET /v1/ledger/entries":               {"from": "0", "limit": "10"},
		"GET /v1/ledger/checkpoints":           {"from": "0", "limit": "10"},
		"GET /v1/ledger/proofs/inclusion":      {"index": "0", "size": "1"},
		"GET /v1/ledger/proofs/consistency":    {"from": "1", "to": "1"},
	}
	bodies := map[string]any{
		"POST /v1/loan-requests":                            loanRequest(siren, bnp, 1_000_000, "2020-05-04"),
		"POST /v1/loan-requests/{requestId}/state-decision": map[string]any{"approved": false},
		"POST /v1/attestations/{number}/grant":              map[string]any{"grantedAmountCents": 1_000_000, "grantedOn": "2020-05-10", "durationMonths": 60},
		"POST /v1/attestations/{number}/cancel":             map[string]any{"reason": "garbage test"},
		"POST /v1/admin/revocations":                        map[string]any{"jti": "garbage-test-jti"},
		"POST /v1/loan-requests/batch":                      []byte(batchLine(t, "garbage-batch", loanRequest(siren, bnp, 1_000_000, "2020-05-04")) + "\n"),
	}
	// The content type of a body that is not JSON.
	contentTypes := map[string]string{"POST /v1/loan-requests/batch": "application/x-ndjson"}
	docParams := routeParams(t)

	failures := 0
	check := func(route, role, what string, r response) {
		t.Helper()
		bad := ""
		switch {
		case r.status >= 500:
			bad = "a server error"
		case r.status >= 400 && r.header.Get("Content-Type") != "application/problem+json":
			bad = "a 4xx that is not a problem"
		case r.status >= 300 && r.status < 400:
			bad = "a redirection"
		case r.status >= 400:
			var p httpapi.Problem
			if err := json.Unmarshal(r.body, &p); err != nil || p.Status != r.status {
				bad = "a problem whose status is not the answer's"
			}
		}
		if bad != "" {
			if failures++; failures <= 40 {
				t.Errorf("%s as %s, %s: %s: %d %.300s", route, role, what, bad, r.status, r.body)
			}
		}
	}

	sent := 0
	checked := map[string]bool{} // route, parameter and status already checked against openapi.json
	for _, route := range httpapi.RoutePatterns() {
		params, ok := docParams[route]
		if !ok {
			t.Errorf("%s: not in openapi.json", route)
			continue
		}
		method, pathTemplate, _ := strings.Cut(route, " ")
		value := func(name string) (string, bool) {
			if v, ok := valid[route][name]; ok {
				return v, true
			}
			v, ok := valid["*"][name]
			return v, ok
		}
		// request builds the route's request with every parameter valid
		// but name, which gets raw (already encoded for a query or path).
		type request struct {
			path    string
			headers []string
		}
		build := func(name, raw string) request {
			path := pathTemplate
			q := url.Values{}
			var rawQuery []string
			var headers []string
			for _, p := range params {
				v, ok := value(p.Name)
				if !ok {
					t.Fatalf("%s: no valid value for parameter %s", route, p.Name)
				}
				switch p.In {
				case "path":
					if p.Name == name {
						v = raw
					} else {
						v = url.PathEscape(v)
					}
					path = strings.Replace(path, "{"+p.Name+"}", v, 1)
				case "query":
					if p.Name == name {
						rawQuery = append(rawQuery, raw)
					} else if v != "" {
						q.Set(p.Name, v)
					}
				case "header":
					if p.Name == name {
						v = raw
					}
					if v != "" {
						headers = append(headers, p.Name, v)
					}
				}
			}
			if enc := q.Encode(); enc != "" {
				rawQuery = append(rawQuery, enc)
			}
			if len(rawQuery) > 0 {
				path += "?" + strings.Join(rawQuery, "&")
			}
			return request{path, headers}
		}
		// send sends a request, and checks the exchange against
		// openapi.json when conform is set and it is new: a success (the
		// document must allow what the server accepts), or the first
		// answer of its status to garbage in this parameter (the check
		// costs far more than the request). An empty query parameter is
		// not checked: the server answers it as an absent one, which the
		// document, where a parameter may not be empty, calls invalid.
		send := func(role domain.Role, req request, param string, conform bool) response {
			sent++
			headers := req.headers
			if ct, ok := contentTypes[route]; ok {
				headers = append([]string{"Content-Type", ct}, headers...)
			}
			r, httpReq, httpResp := s.exchange(method, req.path, tokens[role], bodies[route], headers...)
			key := fmt.Sprint(route, param, r.status)
			if _, query, _ := strings.Cut(req.path, "?"); conform && !emptyParam.MatchString(query) && (r.status < 300 || !checked[key]) {
				checked[key] = true
				httpapi.CheckConformance(t, httpReq, nil, httpResp, r.body)
			}
			return r
		}

		// The roles allowed: those not refused on a valid request (every
		// role when the route needs no token).
		var roles []domain.Role
		for _, role := range []domain.Role{domain.RoleCompany, domain.RoleBank, domain.RoleAuditor, domain.RoleRegulator, domain.RoleAdmin} {
			r := send(role, build("", ""), "", true)
			check(route, string(role), "valid request", r)
			// The valid request must get through, else the garbage
			// would be refused for the wrong reason: only a role not
			// allowed (403) or a command's state conflict (409: the
			// attestation was already granted, the request is not
			// pending) may stop it.
			if r.status >= 400 && r.status != http.StatusForbidden && r.status != http.StatusConflict {
				t.Errorf("%s as %s, valid request: %d %.200s", route, role, r.status, r.body)
			}
			if r.status != http.StatusForbidden {
				roles = append(roles, role)
			}
		}
		rebuild := route == "POST /v1/admin/projections/rebuild"
		if rebuild {
			roles = roles[:1] // a rebuild each time: one role is enough
		}
		for i, role := range roles {
			if i > 0 && testing.Short() {
				break
			}
			for _, p := range params {
				if p.In == "header" && i > 0 {
					continue // headers are read before the role matters
				}
				var variants []string
				for _, g := range garbage {
					switch p.In {
					case "path":
						if g == "" {
							continue // another route, not a value of this one
						}
						variants = append(variants, url.PathEscape(g))
					case "query":
						if n, err := strconv.ParseUint(g, 10, 64); p.Name == "minPosition" && err == nil && n > 1 {
							continue // a position not reached yet: 503 after 5 s (API.md)
						}
						variants = append(variants, url.QueryEscape(p.Name)+"="+url.QueryEscape(g))
					case "header":
						if g == "" || strings.ContainsAny(g, "\x00\r\n") || len(g) > 4096 {
							continue // not sendable as a header value
						}
						variants = append(variants, g)
					}
				}
				if p.In == "query" {
					// Malformed encodings and repeated parameters.
					variants = append(variants, p.Name+"=%zz", p.Name+"=%", p.Name+"=1&"+p.Name+"=abc", p.Name, p.Name+"=a%00b")
				}
				if rebuild {
					// Each accepted value costs a rebuild: a few, and
					// every one over the documented bound.
					var few []string
					for j, v := range variants {
						if j%6 == 0 || len(v) > 200 {
							few = append(few, v)
						}
					}
					variants = few
				}
				for _, v := range variants {
					check(route, string(role), p.In+" "+p.Name+"="+truncate(v), send(role, build(p.Name, v), p.Name, i == 0))
				}
			}
		}
	}
	if failures > 40 {
		t.Errorf("... and %d more", failures-40)
	}
	t.Logf("%d requests sent", sent)
}

// emptyParam matches a query with an empty parameter.
var emptyParam = regexp.MustCompile(`(^|&)[^=&]+(=)?(&|$)`)

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Answers the garbage walk found wrong, or that were 500s before errors
// carried their kind: a malformed cursor, a report period that ends before
// it starts, and an over-long Idempotency-Key on a rebuild.
func TestGarbageFoundAnswer400(t *testing.T) {
	s := startService(t, t.TempDir())
	auditor := s.token(domain.RoleAuditor, "auditor-1")
	regulator := s.token(domain.RoleRegulator, "regulator-1")
	admin := s.token(domain.RoleAdmin, "admin-1")
	for _, tc := range []struct {
		method, path, token string
		headers             []string
	}{
		{"GET", "/v1/attestations?cursor=not-a-cursor", auditor, nil},
		{"GET", "/v1/attestations?cursor=" + url.QueryEscape("eyJ4IjoxfQ=="), auditor, nil},
		{"GET", "/v1/reports/pge?groupBy=region&from=2020-06-01&to=2020-03-01", regulator, nil},
		{"GET", "/v1/ledger/checkpoint?minPosition=-1", auditor, nil},
		{"GET", "/v1/ledger/verifier-key?minPosition=abc", auditor, nil},
		{"POST", "/v1/admin/projections/rebuild", admin, []string{"Idempotency-Key", strings.Repeat("k", 201)}},
	} {
		r := s.do(tc.method, tc.path, tc.token, nil, tc.headers...)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s %s: %d %s, want 400", tc.method, tc.path, r.status, r.body)
			continue
		}
		p := r.problem(t)
		if p.Status != http.StatusBadRequest {
			t.Errorf("%s: problem status %d", tc.path, p.Status)
		}
	}
}
