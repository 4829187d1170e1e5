package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// A token revoked through one instance is refused by another instance of
// the deployment (one NATS, a shared keys dir) within 5 s, and the
// revocation shows in the auditor's list of both; an instance started
// after the revocation refuses the token from its first request.
func TestARevocationReachesEveryInstanceWithin5s(t *testing.T) {
	keys := datadir.NewKeys(filepath.Join(t.TempDir(), "keys"))
	ns := startNATS(t, keys)
	start := func() (*app.App, *httptest.Server) {
		a, err := app.Start(t.Context(), app.Config{DataDir: t.TempDir(), KeysDir: keys.Dir, NATSURL: ns.ClientURL(), Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(a.Handler)
		t.Cleanup(func() { hs.Close(); a.Close() })
		return a, hs
	}
	a, ha := start()
	_, hb := start()
	call := func(hs *httptest.Server, method, path, token string, body any) (int, []byte) {
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, hs.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		return resp.StatusCode, buf.Bytes()
	}
	victim, jti, err := a.Signer.IssueID(auth.Principal{Role: domain.RoleAuditor, Subject: "leaked"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := a.Signer.Issue(auth.Principal{Role: domain.RoleAdmin, Subject: "alice"}, time.Hour)
	auditor, _ := a.Signer.Issue(auth.Principal{Role: domain.RoleAuditor, Subject: "bob"}, time.Hour)
	for _, hs := range []*httptest.Server{ha, hb} {
		if code, body := call(hs, "GET", "/v1/events", victim, nil); code != 200 {
			t.Fatalf("before the revocation: %d %s", code, body)
		}
	}
	if code, body := call(ha, "POST", "/v1/admin/revocations", admin, map[string]any{"jti": jti, "reason": "leaked in a ticket"}); code != 201 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	revoked := time.Now()
	if code, _ := call(ha, "GET", "/v1/events", victim, nil); code != 401 {
		t.Fatalf("the instance that revoked still accepts the token: %d", code)
	}
	for {
		code, _ := call(hb, "GET", "/v1/events", victim, nil)
		if code == 401 {
			break
		}
		if time.Since(revoked) > 5*time.Second {
			t.Fatalf("the other instance still accepts the revoked token after 5 s: %d", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("refused by the other instance %v after the revocation", time.Since(revoked).Round(time.Millisecond))
	// A new instance knows the revocation before its first request.
	_, hc := start()
	if code, _ := call(hc, "GET", "/v1/events", victim, nil); code != 401 {
		t.Fatalf("an instance started after the revocation accepts the token: %d", code)
	}
	// The auditor's list; only the auditor's.
	for _, hs := range []*httptest.Server{hb, hc} {
		code, body := call(hs, "GET", "/v1/revocations", auditor, nil)
		var list struct{ Items []auth.Revocation }
		_ = json.Unmarshal(body, &list)
		if code != 200 || len(list.Items) != 1 || list.Items[0].JTI != jti || list.Items[0].By != "admin:alice" || list.Items[0].Reason != "leaked in a ticket" {
			t.Fatalf("revocation list: %d %s", code, body)
		}
	}
	if code, _ := call(hb, "GET", "/v1/revocations", admin, nil); code != 403 {
		t.Fatalf("an admin read the revocation list: %d", code)
	}
	if code, _ := call(hb, "POST", "/v1/admin/revocations", auditor, map[string]any{"jti": "x"}); code != 403 {
		t.Fatalf("an auditor revoked a token: %d", code)
	}
}
