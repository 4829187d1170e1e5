package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// sign signs arbitrary claims (and header typ) with s's key: what a holder
// of a copy of the key, or an older version of the ledger, could make.
func sign(t *testing.T, s *Signer, typ string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	if typ == "" {
		delete(tok.Header, "typ")
	} else {
		tok.Header["typ"] = typ
	}
	str, err := tok.SignedString(s.priv)
	if err != nil {
		t.Fatal(err)
	}
	return str
}

// Tokens carry iss, aud and jti; an admin token until 2126, an iat ten
// years ahead, an exp given as a string, a token without iss, aud, jti or
// iat, or for another audience were all accepted before.
func TestOwnTokensHaveALifecycle(t *testing.T) {
	s, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": TokenIssuer, "aud": TokenAudience, "jti": "j1", "sub": "alice", "role": "admin",
			"iat": now.Unix(), "exp": now.Add(30 * time.Minute).Unix()}
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
	if p, err := s.Verify(sign(t, s, "JWT", good())); err != nil || p.TokenID != "j1" {
		t.Fatalf("well-formed token refused: %v %+v", err, p)
	}
	for name, tok := range map[string]string{
		"admin until 2126":   sign(t, s, "JWT", with("exp", time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC).Unix())),
		"iat ten years away": sign(t, s, "JWT", with("iat", now.AddDate(10, 0, 0).Unix())),
		"exp as a string":    sign(t, s, "JWT", with("exp", "4102444800")),
		"iat as a string":    sign(t, s, "JWT", with("iat", "1700000000")),
		"no iss":             sign(t, s, "JWT", with("iss", nil)),
		"another iss":        sign(t, s, "JWT", with("iss", "someone-else")),
		"no aud":             sign(t, s, "JWT", with("aud", nil)),
		"another aud":        sign(t, s, "JWT", with("aud", "another-api")),
		"no jti":             sign(t, s, "JWT", with("jti", nil)),
		"no iat":             sign(t, s, "JWT", with("iat", nil)),
		"typ id_token":       sign(t, s, "id_token+jwt", good()),
		"no typ":             sign(t, s, "", good()),
	} {
		if _, err := s.Verify(tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	// Issue refuses a lifetime over the role's maximum, and the issued
	// token carries iss, aud and a jti.
	if _, err := s.Issue(Principal{Role: domain.RoleAdmin, Subject: "alice"}, 100*365*24*time.Hour); err == nil {
		t.Fatal("issued an admin token for a century")
	}
	if _, err := s.Issue(Principal{Role: domain.RoleAdmin, Subject: "alice"}, 2*time.Hour); err == nil {
		t.Fatal("issued a 2 h admin token (max 1 h)")
	}
	tok, jti, err := s.IssueID(Principal{Role: domain.RoleBank, Subject: "30004"}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var c claims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	if c.Issuer != TokenIssuer || len(c.Audience) != 1 || c.Audience[0] != TokenAudience || c.ID != jti || len(jti) < 16 {
		t.Fatalf("claims %+v (jti %q)", c, jti)
	}
	// Configured lifetimes apply both ways.
	l, err := ParseLifetimes("bank=1h")
	if err != nil {
		t.Fatal(err)
	}
	s.SetLifetimes(l)
	if _, err := s.Issue(Principal{Role: domain.RoleBank, Subject: "30004"}, 2*time.Hour); err == nil {
		t.Fatal("issued a 2 h bank token with bank=1h")
	}
	s2 := NewSigner(s.priv)
	s2.SetLifetimes(l)
	if _, err := s2.Verify(tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a 24 h bank token accepted with bank=1h: %v", err)
	}
}

func TestParseLifetimes(t *testing.T) {
	l, err := ParseLifetimes(" admin=30m , company=48h")
	if err != nil || l.Max(domain.RoleAdmin) != 30*time.Minute || l.Max(domain.RoleCompany) != 48*time.Hour || l.Max(domain.RoleAuditor) != 8*time.Hour {
		t.Fatalf("%v %v", l, err)
	}
	if l.Longest() != 48*time.Hour {
		t.Fatalf("longest %v", l.Longest())
	}
	for _, bad := range []string{"root=1h", "admin", "admin=-1h", "admin=0s", "admin=1000h", "admin=soon"} {
		if _, err := ParseLifetimes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if d := DefaultLifetimes().String(); !strings.Contains(d, "admin=1h0m0s") {
		t.Fatal(d)
	}
}

func TestRevokedTokensAreRefused(t *testing.T) {
	s, _ := GenerateKey()
	list := NewRevocationList()
	v := Revoking(s, list)
	tok, jti, err := s.IssueID(Principal{Role: domain.RoleAuditor, Subject: "alice"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok); err != nil {
		t.Fatal(err)
	}
	list.Add(Revocation{JTI: jti, Until: time.Now().Add(time.Hour), RevokedAt: time.Now(), By: "admin:bob"})
	// Refused even though the signer has it in its cache of verified tokens.
	if _, err := v.Verify(tok); !errors.Is(err, ErrRevoked) || !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
	if got := list.List(); len(got) != 1 || got[0].JTI != jti {
		t.Fatalf("list %+v", got)
	}
	if err := ValidateRevocation(Revocation{JTI: "a b", Until: time.Now().Add(time.Hour)}, time.Now()); err == nil {
		t.Fatal("a jti with a space accepted")
	}
	if err := ValidateRevocation(Revocation{JTI: "x", Until: time.Now().Add(-time.Hour)}, time.Now()); err == nil {
		t.Fatal("a revocation until the past accepted")
	}
}
