package auth

import (
	"crypto/ed25519"
	"testing"
	"time"
)

// JWT claim names are case-sensitive (RFC 7519 §4): "suB" and "eXp" are
// not "sub" and "exp", whatever Go's JSON decoder would match. Found by
// FuzzSignerVerifyClaims.
func TestClaimNamesAreCaseSensitive(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(fuzzSeed(1))
	s := NewSigner(priv)
	exp := itoa(time.Now().Add(time.Hour).Unix())
	for _, claims := range []string{
		`{"role":"company","suB":"032899320",` + stdClaims() + `,"exp":` + exp + `}`,
		`{"role":"company","sub":"032899320",` + stdClaims() + `,"eXp":` + exp + `}`,
		`{"Role":"company","sub":"032899320",` + stdClaims() + `,"exp":` + exp + `}`,
		`{"role":"company","sub":"032899320","role":"admin",` + stdClaims() + `,"exp":` + exp + `}`,
	} {
		if p, err := s.Verify(fuzzToken(`{"alg":"EdDSA","typ":"JWT"}`, claims, priv)); err == nil {
			t.Errorf("accepted %s as %+v", claims, p)
		}
	}
	good := `{"role":"company","sub":"032899320",` + stdClaims() + `,"exp":` + exp + `}`
	if _, err := s.Verify(fuzzToken(`{"alg":"EdDSA","typ":"JWT"}`, good, priv)); err != nil {
		t.Fatalf("the good token is refused: %v", err)
	}
}
