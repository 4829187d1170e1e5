package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
)

func TestKeyIsCreatedOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	s1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v, want 0600", fi.Mode().Perm())
	}
	s2, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s1.Issue(Principal{Role: "bank", Subject: "30004"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s2.Verify(tok)
	if err != nil || p.Role != "bank" || p.Subject != "30004" {
		t.Fatalf("reloaded key does not verify: %v %+v", err, p)
	}
}

// A token key readable by group or others is refused, on one line naming
// the file and the chmod to run (it used to be accepted).
func TestExposedKeyIsRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateKey(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFile)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateKey(dir)
	if !errors.Is(err, keyfile.ErrExposed) || !strings.Contains(err.Error(), "chmod 600 "+path) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("0644 token key: %v", err)
	}
}

func TestPublicKeyPEMVerifiesTokens(t *testing.T) {
	s, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwt.ParseEdPublicKeyFromPEM(p)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := s.Issue(Principal{Role: "auditor", Subject: "alice"}, time.Hour)
	if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
		t.Fatalf("the printed public key does not verify a token: %v", err)
	}
}

func TestVerifyRefusesBadTokens(t *testing.T) {
	s, err := LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	other := NewSigner(otherKey)
	good, _ := s.Issue(Principal{Role: "auditor", Subject: "alice"}, time.Hour)
	forged, _ := other.Issue(Principal{Role: "admin", Subject: "mallory"}, time.Hour)
	expiredSigner := NewSigner(s.priv)
	expiredSigner.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	expired, _ := expiredSigner.Issue(Principal{Role: "auditor", Subject: "alice"}, time.Hour)
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory","role":"admin","exp":4102444800}`))
	algNone := header + "." + payload + "."
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "m", "role": "admin", "exp": 4102444800}).SignedString([]byte(s.pub))
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": "alice", "role": "auditor"}).SignedString(s.priv)
	badRole, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": "alice", "role": "root", "exp": 4102444800}).SignedString(s.priv)
	badSIREN, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": "123456789", "role": "company", "exp": 4102444800}).SignedString(s.priv)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"alice","role":"admin","exp":4102444800}`)) + "." + parts[2]
	for name, tok := range map[string]string{
		"empty": "", "garbage": "not.a.token", "forged": forged, "expired": expired, "alg none": algNone,
		"HS256 with the public key": hs, "no expiry": noExp, "unknown role": badRole,
		"company with invalid SIREN": badSIREN, "tampered payload": tampered,
	} {
		if _, err := s.Verify(tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: accepted (err %v)", name, err)
		}
	}
	if p, err := s.Verify(good); err != nil || p.Subject != "alice" {
		t.Fatalf("good token refused: %v", err)
	}
}

func TestIssueChecksThePrincipal(t *testing.T) {
	s, _ := LoadOrCreateKey(t.TempDir())
	for _, p := range []Principal{{Role: "company", Subject: "123"}, {Role: "bank", Subject: "BNP"}, {Role: "god", Subject: "x"}, {Role: "admin", Subject: ""}} {
		if _, err := s.Issue(p, time.Hour); err == nil {
			t.Errorf("issued a token for %+v", p)
		}
	}
	if _, err := s.Issue(Principal{Role: "company", Subject: "732829320"}, 0); err == nil {
		t.Error("issued a token with no lifetime")
	}
}

func TestVerifiedTokensExpireFromTheCache(t *testing.T) {
	s, _ := LoadOrCreateKey(t.TempDir())
	now := time.Now()
	s.now = func() time.Time { return now }
	tok, _ := s.Issue(Principal{Role: "auditor", Subject: "alice"}, time.Minute)
	for i := 0; i < 2; i++ { // the second check is answered from the cache
		if _, err := s.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.Verify(tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("an expired token was still accepted from the cache: %v", err)
	}
	// A token signed by another key is never cached as valid.
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := NewSigner(otherKey).Issue(Principal{Role: "admin", Subject: "m"}, time.Hour)
	for i := 0; i < 2; i++ {
		if _, err := s.Verify(forged); !errors.Is(err, ErrUnauthenticated) {
			t.Fatal("forged token accepted")
		}
	}
}
