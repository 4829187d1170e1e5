package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// issuer is an external OIDC issuer serving its JWK Set over HTTP.
type issuer struct {
	key *ecdsa.PrivateKey
	url string
}

func newIssuer(t *testing.T) issuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jwkset.NewJWKFromKey(key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k1", ALG: jwkset.AlgES256, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(map[string]any{"keys": []any{jwk.Marshal()}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	t.Cleanup(srv.Close)
	return issuer{key: key, url: srv.URL}
}

func (i issuer) token(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(i.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWKSVerifierAcceptsOnlyTheIssuersTokens(t *testing.T) {
	iss := newIssuer(t)
	v, err := NewJWKSVerifier(t.Context(), JWKSConfig{URL: iss.url, Issuer: "https://idp.bank.example", Audience: "attestation-ledger"})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	good := jwt.MapClaims{"iss": "https://idp.bank.example", "aud": "attestation-ledger", "sub": "30004", "role": "bank", "exp": exp}
	p, err := v.Verify(iss.token(t, good))
	if err != nil || p.Role != "bank" || p.Subject != "30004" {
		t.Fatalf("good token: %+v %v", p, err)
	}
	with := func(k string, val any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for key, v := range good {
			c[key] = v
		}
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	other := newIssuer(t)
	for name, tok := range map[string]string{
		"another issuer claim": iss.token(t, with("iss", "https://evil.example")),
		"another audience":     iss.token(t, with("aud", "someone-else")),
		"expired":              iss.token(t, with("exp", time.Now().Add(-time.Hour).Unix())),
		"no expiry":            iss.token(t, with("exp", nil)),
		"unknown role":         iss.token(t, with("role", "root")),
		"signed by another":    other.token(t, good),
		"HS256":                mustHS256(t, good),
	} {
		if _, err := v.Verify(tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	// In a chain, the server's own tokens and the issuer's both pass.
	local, _ := LoadOrCreateKey(t.TempDir())
	chain := NewChain(local, v)
	own, _ := local.Issue(Principal{Role: "auditor", Subject: "alice"}, time.Hour)
	for _, tok := range []string{own, iss.token(t, good)} {
		if _, err := chain.Verify(tok); err != nil {
			t.Fatalf("chain refused a valid token: %v", err)
		}
	}
	if _, err := chain.Verify(other.token(t, good)); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("chain accepted a foreign token: %v", err)
	}
	if _, err := NewJWKSVerifier(t.Context(), JWKSConfig{URL: iss.url}); err == nil {
		t.Fatal("a verifier without an issuer was built")
	}
}

func mustHS256(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
