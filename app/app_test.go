package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/golang-jwt/jwt/v5"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// The scheduled self-audit runs, its outcome shows in the metrics, and a
// service whose audit passed is ready.
func TestSelfAuditRunsOnScheduleAndShowsInMetricsAndReadiness(t *testing.T) {
	a, err := app.Start(t.Context(), app.Config{DataDir: t.TempDir(), AuditInterval: 20 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	hs := httptest.NewServer(a.Handler)
	defer hs.Close()
	submitTo(t, a)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, ok := a.Ledger.LastAudit()
		if ok && res.OK() && res.CheckpointSize >= 3 && res.CheckpointsChecked > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no passing audit of the 3 events: %+v %v", res, ok)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ops, _ := a.Signer.Issue(auth.Principal{Role: domain.RoleAuditor, Subject: "ops"}, time.Hour)
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+ops)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, m := get("/metrics"); code != 200 || !strings.Contains(m, "ledger_self_audit_ok 1") || !strings.Contains(m, "ledger_checkpoint_size 3") {
		t.Fatalf("metrics: %d\n%s", code, grep(m, "ledger_"))
	}
	code, body := get("/readyz")
	var ready struct {
		Ready bool `json:"ready"`
	}
	_ = json.Unmarshal([]byte(body), &ready)
	if code != 200 || !ready.Ready {
		t.Fatalf("readyz: %d %s", code, body)
	}
}

func TestStartValidatesAndCloseIsIdempotent(t *testing.T) {
	if _, err := app.Start(context.Background(), app.Config{}); err == nil {
		t.Fatal("started without a data dir")
	}
	a, err := app.Start(t.Context(), app.Config{DataDir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// With an external issuer configured, its tokens are accepted beside the
// server's own, and tokens of any other issuer are not.
func TestExternalIssuerTokens(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jwkset.NewJWKFromKey(key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k1", ALG: jwkset.AlgES256, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(map[string]any{"keys": []any{jwk.Marshal()}})
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(set) }))
	defer idp.Close()
	a, err := app.Start(t.Context(), app.Config{DataDir: t.TempDir(), Logger: quiet(),
		JWKS: &auth.JWKSConfig{URL: idp.URL, Issuer: "https://idp.example", Audience: "ledger"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	hs := httptest.NewServer(a.Handler)
	defer hs.Close()
	external := func(iss string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": iss, "aud": "ledger", "sub": "alice", "role": "auditor", "exp": time.Now().Add(time.Hour).Unix()})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	own, _ := a.Signer.Issue(auth.Principal{Role: domain.RoleAuditor, Subject: "bob"}, time.Hour)
	for tok, want := range map[string]int{external("https://idp.example"): 200, own: 200, external("https://other.example"): 401} {
		req, _ := http.NewRequest("GET", hs.URL+"/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("status %d, want %d", resp.StatusCode, want)
		}
	}
}
