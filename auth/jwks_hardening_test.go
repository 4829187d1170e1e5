package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// rotatingIssuer serves a JWK Set whose one key can be replaced, and
// counts the fetches.
type rotatingIssuer struct {
	mu      sync.Mutex
	kid     string
	key     *ecdsa.PrivateKey
	set     []byte
	fetches atomic.Int64
	url     string
}

func newRotatingIssuer(t *testing.T) *rotatingIssuer {
	t.Helper()
	ri := &rotatingIssuer{}
	ri.rotate(t, "k1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ri.fetches.Add(1)
		ri.mu.Lock()
		set := ri.set
		ri.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	t.Cleanup(srv.Close)
	ri.url = srv.URL
	return ri
}

// rotate replaces the issuer's key by a new one named kid.
func (ri *rotatingIssuer) rotate(t *testing.T, kid string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jwkset.NewJWKFromKey(key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: jwkset.AlgES256, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(map[string]any{"keys": []any{jwk.Marshal()}})
	ri.mu.Lock()
	ri.kid, ri.key, ri.set = kid, key, set
	ri.mu.Unlock()
}

func (ri *rotatingIssuer) token(t *testing.T, typ string, c jwt.MapClaims) string {
	t.Helper()
	ri.mu.Lock()
	kid, key := ri.kid, ri.key
	ri.mu.Unlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"] = kid
	if typ == "" {
		delete(tok.Header, "typ")
	} else {
		tok.Header["typ"] = typ
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func jwksClaims() jwt.MapClaims {
	return jwt.MapClaims{"iss": "https://idp.example", "aud": "ledger", "sub": "30004", "role": "bank", "exp": time.Now().Add(time.Hour).Unix()}
}

// A JWKS verifier needs an audience and an https URL (http only on a
// loopback host); both were accepted before.
func TestJWKSConfigRefusesUnsafeSettings(t *testing.T) {
	for name, c := range map[string]JWKSConfig{
		"no audience":        {URL: "https://idp.example/jwks", Issuer: "https://idp.example"},
		"http on a network":  {URL: "http://idp.example/jwks", Issuer: "https://idp.example", Audience: "ledger"},
		"http on a LAN IP":   {URL: "http://10.0.0.5/jwks", Issuer: "https://idp.example", Audience: "ledger"},
		"another scheme":     {URL: "file:///etc/jwks.json", Issuer: "https://idp.example", Audience: "ledger"},
		"negative refresh":   {URL: "https://idp.example/jwks", Issuer: "i", Audience: "a", MinRefreshInterval: -time.Second},
		"no issuer, no aud.": {URL: "https://idp.example/jwks"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, u := range []string{"https://idp.example/jwks", "http://127.0.0.1:8081/jwks", "http://localhost/jwks", "http://[::1]:9/jwks"} {
		if err := (JWKSConfig{URL: u, Issuer: "i", Audience: "a"}).Validate(); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
}

// The typ header is checked: JWT and at+jwt (any case) pass; an ID
// token's, a logout token's or none are refused.
func TestJWKSVerifierChecksTheType(t *testing.T) {
	ri := newRotatingIssuer(t)
	v, err := NewJWKSVerifier(t.Context(), JWKSConfig{URL: ri.url, Issuer: "https://idp.example", Audience: "ledger"})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt"} {
		if _, err := v.Verify(ri.token(t, typ, jwksClaims())); err != nil {
			t.Errorf("typ %q refused: %v", typ, err)
		}
	}
	for _, typ := range []string{"", "logout+jwt", "dpop+jwt", "JOSE"} {
		if _, err := v.Verify(ri.token(t, typ, jwksClaims())); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("typ %q accepted: %v", typ, err)
		}
	}
	c := jwksClaims()
	c["exp"] = "4102444800"
	if _, err := v.Verify(ri.token(t, "JWT", c)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("exp as a string accepted: %v", err)
	}
	c = jwksClaims()
	c["iat"] = time.Now().AddDate(10, 0, 0).Unix()
	if _, err := v.Verify(ri.token(t, "JWT", c)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("iat ten years ahead accepted: %v", err)
	}
}

// A garbage token naming an unknown key id used to spend the refresh
// budget for five minutes (keyfunc's default), so a key the issuer
// rotated in just after was refused meanwhile. Now a rotated key is
// accepted within the minimum refresh interval, however many garbage
// tokens came first.
func TestJWKSRotatedKeyIsAcceptedDespiteGarbageKids(t *testing.T) {
	ri := newRotatingIssuer(t)
	const interval = 500 * time.Millisecond
	v, err := NewJWKSVerifier(t.Context(), JWKSConfig{URL: ri.url, Issuer: "https://idp.example", Audience: "ledger", MinRefreshInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ri.token(t, "JWT", jwksClaims())); err != nil {
		t.Fatal(err)
	}
	// Garbage with unknown key ids, signed by a key the issuer never had.
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for i := range 50 {
		g := jwt.NewWithClaims(jwt.SigningMethodES256, jwksClaims())
		g.Header["kid"] = "garbage-" + strings.Repeat("x", i)
		gs, _ := g.SignedString(stranger)
		start := time.Now()
		if _, err := v.Verify(gs); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("garbage accepted: %v", err)
		}
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Fatalf("a garbage token held the request %v waiting for the refresh budget", d)
		}
	}
	fetchesBefore := ri.fetches.Load()
	if fetchesBefore > 3 {
		t.Fatalf("50 garbage tokens made %d fetches of the set (at most one per interval)", fetchesBefore)
	}
	ri.rotate(t, "k2")
	fresh := ri.token(t, "JWT", jwksClaims())
	deadline := time.Now().Add(3 * interval)
	for {
		_, err := v.Verify(fresh)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a token of the rotated key still refused %v after rotation: %v", 3*interval, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
