package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/journal"
)

// The conformance check reads a text/html answer as a string (the
// document's schema for the printable report).
func init() {
	openapi3filter.RegisterBodyDecoder("text/html", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		data, err := io.ReadAll(body)
		return string(data), err
	})
}

// GET /v1/reports/security answers auditors and admins with the period's
// report (JSON, or a printable page), refuses the other roles and bad
// periods.
func TestSecurityReportThroughHTTP(t *testing.T) {
	s := startService(t, t.TempDir())
	j := s.app.Journal
	base := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Second)
	for i := range 11 {
		if err := j.Record(journal.Entry{Time: base.Add(time.Duration(i) * time.Second), Action: journal.AuthnFailure, Result: journal.Failure,
			Subject: "anonymous", Source: "203.0.113.77", Detail: map[string]string{"reason": "invalid-token", "status": "401"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Record(journal.Entry{Time: base.Add(time.Minute), Action: journal.AdminAction, Result: journal.Success,
		Subject: "ops-7", Role: "admin", Detail: map[string]string{"operation": "projections.rebuild"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cp, ok := j.Tree().Latest(); ok && cp.Size >= 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no journal checkpoint")
		}
		time.Sleep(50 * time.Millisecond)
	}
	period := "from=" + url.QueryEscape(base.Add(-time.Minute).Format(time.RFC3339)) + "&to=" + url.QueryEscape(time.Now().UTC().Add(time.Minute).Format(time.RFC3339))

	for _, role := range []domain.Role{domain.RoleBank, domain.RoleCompany, domain.RoleRegulator} {
		subject := map[domain.Role]string{domain.RoleBank: "30004", domain.RoleCompany: "552100554", domain.RoleRegulator: "acpr"}[role]
		if r := s.do(http.MethodGet, "/v1/reports/security?"+period, s.token(role, subject), nil); r.status != http.StatusForbidden {
			t.Errorf("%s: %d %s", role, r.status, r.body)
		}
	}
	for _, role := range []domain.Role{domain.RoleAuditor, domain.RoleAdmin} {
		r := s.do(http.MethodGet, "/v1/reports/security?"+period, s.token(role, "x-"+string(role)), nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", role, r.status, r.body)
		}
		var rep struct {
			BruteForce []struct {
				Key   string `json:"key"`
				Count int    `json:"count"`
			} `json:"bruteForce"`
			AdminActions []struct {
				Subject string `json:"subject"`
			} `json:"adminActions"`
			Integrity struct {
				Journal struct{ OK bool } `json:"journal"`
				Ledger  struct {
					OK    bool
					Audit *struct{ OK bool } `json:"audit"`
				} `json:"ledger"`
			} `json:"integrity"`
			Keys struct {
				Inventory []json.RawMessage `json:"inventory"`
			} `json:"keys"`
		}
		r.json(t, &rep)
		if len(rep.BruteForce) != 1 || rep.BruteForce[0].Key != "203.0.113.77" || rep.BruteForce[0].Count != 11 {
			t.Errorf("%s: brute force %+v", role, rep.BruteForce)
		}
		if len(rep.AdminActions) == 0 || rep.AdminActions[0].Subject != "ops-7" {
			t.Errorf("%s: admin actions %+v", role, rep.AdminActions)
		}
		if !rep.Integrity.Journal.OK || rep.Integrity.Ledger.Audit == nil || !rep.Integrity.Ledger.Audit.OK || len(rep.Keys.Inventory) < 4 {
			t.Errorf("%s: integrity %+v, %d keys: %s", role, rep.Integrity, len(rep.Keys.Inventory), r.body)
		}
	}
	page := s.do(http.MethodGet, "/v1/reports/security?format=html&"+period, s.token(domain.RoleAuditor, "a"), nil)
	if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("html: %d %s", page.status, page.header.Get("Content-Type"))
	}
	for _, want := range []string{"Rapport de sécurité", "203.0.113.77", "Constats ouverts", "ops-7"} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for _, q := range []string{
		"", "from=2026-11-01", "to=2026-11-01", "from=2026-11-02&to=2026-11-01", "from=yesterday&to=2026-11-01",
		"from=2026-11-01&to=2026-11-01", "from=2020-01-01&to=2026-11-01", "from=2026-11-01&to=2026-11-02&format=xml",
	} {
		r := s.do(http.MethodGet, "/v1/reports/security?"+q, s.token(domain.RoleAdmin, "a"), nil)
		if r.status != http.StatusBadRequest {
			t.Errorf("%q: %d %s", q, r.status, r.body)
		}
	}
	if r := s.do(http.MethodGet, "/v1/reports/security?from=2026-11-01&to=2026-11-02", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.status)
	}
}
