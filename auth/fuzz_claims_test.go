package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Fuzz targets of token parsing (issue 11, point 9). Each asserts that no
// input panics and that an accepted token really was signed by the key:
// its signature is checked again here, independently of golang-jwt, over
// its exact signing input.
//
//	go test ./auth -run '^$' -fuzz FuzzSignerVerify -fuzztime 30s
//	go test ./auth -run '^$' -fuzz FuzzSignerVerifyClaims -fuzztime 30s
//	go test ./auth -run '^$' -fuzz FuzzJWKSVerify -fuzztime 30s

// fuzzSeed makes the fixed key pair of the fuzz targets (a fixed key
// keeps the seed corpus valid from run to run).
func fuzzSeed(b byte) []byte {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = b + byte(i)
	}
	return s
}

// b64 is base64url without padding, the JWS encoding.
var b64 = base64.RawURLEncoding

// jwsParts splits a compact JWS, or fails the test: an accepted token must
// have exactly three parts.
func jwsParts(t *testing.T, token string) (header map[string]any, signingInput string, sig []byte) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("accepted a token of %d parts: %q", len(parts), token)
	}
	h, err := b64.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("accepted a token whose header is not base64url: %q", token)
	}
	if err := json.Unmarshal(h, &header); err != nil {
		t.Fatalf("accepted a token whose header is not a JSON object: %q", h)
	}
	sig, err = b64.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("accepted a token whose signature is not base64url: %q", token)
	}
	return header, parts[0] + "." + parts[1], sig
}

// fuzzToken signs claims (raw JSON) with the Ed25519 key, header as given.
func fuzzToken(header, claims string, priv ed25519.PrivateKey) string {
	in := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims))
	return in + "." + b64.EncodeToString(ed25519.Sign(priv, []byte(in)))
}

// checkAcceptedEd25519 fails unless token is an EdDSA JWS whose signature
// the public key verifies and whose principal is valid.
func checkAcceptedEd25519(t *testing.T, token string, pub ed25519.PublicKey, p Principal) {
	t.Helper()
	header, in, sig := jwsParts(t, token)
	if header["alg"] != "EdDSA" {
		t.Fatalf("accepted alg %v: %q", header["alg"], token)
	}
	if !ed25519.Verify(pub, []byte(in), sig) {
		t.Fatalf("accepted a token the key did not sign: %q", token)
	}
	if _, err := ValidatePrincipal(string(p.Role), p.Subject); err != nil {
		t.Fatalf("accepted an invalid principal %+v: %v", p, err)
	}
}

// FuzzSignerVerify feeds whole tokens to the server's own verifier.
func FuzzSignerVerify(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(fuzzSeed(1))
	s := NewSigner(priv)
	pub := priv.Public().(ed25519.PublicKey)
	other := ed25519.NewKeyFromSeed(fuzzSeed(2))
	exp := time.Now().Add(time.Hour).Unix()
	good := `{"role":"bank","sub":"30004",` + stdClaims() + `,"exp":` + itoa(exp) + `}`
	edHeader := `{"alg":"EdDSA","typ":"JWT"}`
	for _, seed := range []string{
		fuzzToken(edHeader, good, priv),
		fuzzToken(edHeader, good, other),
		fuzzToken(`{"alg":"none"}`, good, priv),
		b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + b64.EncodeToString([]byte(good)) + ".",
		fuzzToken(`{"alg":"HS256"}`, good, priv),
		fuzzToken(`{"alg":"EdDSA","crit":["b64"],"b64":false}`, good, priv),
		fuzzToken(edHeader, `{"role":"admin","sub":"x","exp":`+itoa(exp)+`,"role":"bank"}`, priv),
		fuzzToken(edHeader, `{"role":"bank","sub":"30004","exp":"`+itoa(exp)+`"}`, priv),
		fuzzToken(edHeader, `{"role":"bank","sub":"30004","exp":1e400}`, priv),
		fuzzToken(edHeader, `{"role":"bank","sub":"30004","exp":-1}`, priv),
		fuzzToken(edHeader, `{"role":"bank","sub":"30004"}`, priv),
		fuzzToken(edHeader, `[]`, priv),
		fuzzToken(`null`, good, priv),
		"", ".", "..", "a.b.c", "eyJ.eyJ.", strings.Repeat("A", 4096) + ".." + strings.Repeat("A", 86),
		fuzzToken(edHeader, good, priv) + ".extra",
		" " + fuzzToken(edHeader, good, priv),
	} {
		f.Add(seed)
	}
	// The acceptance checks below are not vacuous: the good seed passes.
	if _, err := s.Verify(fuzzToken(edHeader, good, priv)); err != nil {
		f.Fatalf("the good seed is refused: %v", err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := s.Verify(token)
		if err != nil {
			return
		}
		checkAcceptedEd25519(t, token, pub, p)
	})
}

// FuzzSignerVerifyClaims signs arbitrary header and claims JSON with the
// server's own key, so that the fuzzer reaches the claims checks (a
// mutated signature fails first otherwise): an accepted token must have
// alg EdDSA, a numeric exp not past (within the 30 s leeway), and the
// principal its role and sub claims say.
func FuzzSignerVerifyClaims(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(fuzzSeed(1))
	s := NewSigner(priv)
	pub := priv.Public().(ed25519.PublicKey)
	exp := itoa(time.Now().Add(time.Hour).Unix())
	for _, seed := range [][2]string{
		{`{"alg":"EdDSA","typ":"JWT"}`, `{"role":"bank","sub":"30004",` + stdClaims() + `,"exp":` + exp + `}`},
		{`{"alg":"EdDSA"}`, `{"role":"company","sub":"732829320","exp":` + exp + `,"iat":1}`},
		{`{"alg":"EdDSA"}`, `{"role":"admin","sub":"root","exp":` + exp + `,"nbf":9999999999}`},
		{`{"alg":"EdDSA"}`, `{"role":"bank","sub":"30004","exp":"` + exp + `"}`},
		{`{"alg":"EdDSA"}`, `{"role":"bank","sub":"3000","exp":` + exp + `}`},
		{`{"alg":"EdDSA"}`, `{"role":"BANK","sub":"30004","exp":` + exp + `}`},
		{`{"alg":"EdDSA"}`, `{"role":"bank","sub":["30004"],"exp":` + exp + `}`},
		{`{"alg":"EdDSA"}`, `{"role":"bank","sub":"30004","exp":` + exp + `.5}`},
		{`{"alg":"EdDSA"}`, `{"role":"bank","sub":"30004","exp":1}`},
		{`{"alg":"EdDSA"}`, `{"role":"auditor","sub":"","exp":` + exp + `}`},
		{`{"alg":"EdDSA"}`, `{"role":"auditor","sub":"a\u0000b","exp":` + exp + `}`},
		{`{"alg":"ES256"}`, `{"role":"bank","sub":"30004","exp":` + exp + `}`},
	} {
		f.Add(seed[0], seed[1])
	}
	if _, err := s.Verify(fuzzToken(`{"alg":"EdDSA","typ":"JWT"}`, `{"role":"bank","sub":"30004",`+stdClaims()+`,"exp":`+exp+`}`, priv)); err != nil {
		f.Fatalf("the good seed is refused: %v", err)
	}
	f.Fuzz(func(t *testing.T, header, claimsJSON string) {
		token := fuzzToken(header, claimsJSON, priv)
		p, err := s.Verify(token)
		if err != nil {
			return
		}
		checkAcceptedEd25519(t, token, pub, p)
		var c map[string]any
		if err := json.Unmarshal([]byte(claimsJSON), &c); err != nil {
			t.Fatalf("accepted claims that are not a JSON object: %q", claimsJSON)
		}
		if c["role"] != string(p.Role) || c["sub"] != p.Subject {
			t.Fatalf("principal %+v is not the claims' role and sub: %q", p, claimsJSON)
		}
		e, ok := c["exp"].(float64)
		if !ok {
			t.Logf("accepted a non-numeric exp %#v (RFC 7519 wants a NumericDate): %q", c["exp"], claimsJSON)
			return
		}
		if time.Unix(int64(e), 0).Add(31 * time.Second).Before(time.Now()) {
			t.Fatalf("accepted an expired token (exp %v): %q", e, claimsJSON)
		}
	})
}

// FuzzJWKSVerify feeds whole tokens to the external issuer's verifier
// (the JWKS path, with a JWK Set of one ES256 key and one Ed25519 key).
func FuzzJWKSVerify(f *testing.F) {
	// Fixed keys: an input the fuzzer saves stays a reproducer.
	ecKey, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), fuzzSeed(4))
	if err != nil {
		f.Fatal(err)
	}
	edPriv := ed25519.NewKeyFromSeed(fuzzSeed(3))
	var keys []any
	for kid, k := range map[string]any{"ec": ecKey.Public(), "ed": edPriv.Public()} {
		alg := jwkset.AlgES256
		if kid == "ed" {
			alg = jwkset.AlgEdDSA
		}
		jwk, err := jwkset.NewJWKFromKey(k, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: jwkset.UseSig}})
		if err != nil {
			f.Fatal(err)
		}
		keys = append(keys, jwk.Marshal())
	}
	set, _ := json.Marshal(map[string]any{"keys": keys})
	kf, err := keyfunc.NewJWKSetJSON(set)
	if err != nil {
		f.Fatal(err)
	}
	cfg := JWKSConfig{URL: "https://idp.bank.example/jwks", Issuer: "https://idp.bank.example", Audience: "attestation-ledger"}
	v := &JWKSVerifier{cfg: cfg, kf: kf, now: time.Now}

	exp := time.Now().Add(24 * 365 * time.Hour).Unix()
	good := jwt.MapClaims{"iss": cfg.Issuer, "aud": cfg.Audience, "sub": "30004", "role": "bank", "exp": exp}
	sign := func(m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edGood := sign(jwt.SigningMethodEdDSA, "ed", edPriv, good)
	for _, seed := range []string{
		sign(jwt.SigningMethodES256, "ec", ecKey, good),
		edGood,
		sign(jwt.SigningMethodES256, "ec", otherEC, good),
		sign(jwt.SigningMethodES256, "ed", ecKey, good),
		sign(jwt.SigningMethodES256, "", ecKey, good),
		sign(jwt.SigningMethodES256, "nope", ecKey, good),
		sign(jwt.SigningMethodHS256, "ec", []byte("secret"), good),
		sign(jwt.SigningMethodES256, "ec", ecKey, jwt.MapClaims{"iss": cfg.Issuer, "aud": []string{"x", cfg.Audience}, "sub": "30004", "role": "bank", "exp": exp}),
		sign(jwt.SigningMethodES256, "ec", ecKey, jwt.MapClaims{"iss": cfg.Issuer, "sub": "30004", "role": "bank", "exp": exp}),
		sign(jwt.SigningMethodES256, "ec", ecKey, jwt.MapClaims{"iss": cfg.Issuer, "aud": cfg.Audience, "sub": "30004", "role": "bank", "exp": float64(exp) + 0.5}),
		strings.Replace(edGood, "eyJ", "eyK", 1),
		"", "..", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.",
	} {
		f.Add(seed)
	}
	for _, tok := range []string{edGood, sign(jwt.SigningMethodES256, "ec", ecKey, good)} {
		if _, err := v.Verify(tok); err != nil {
			f.Fatalf("a good seed is refused: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(token)
		if err != nil {
			return
		}
		header, in, sig := jwsParts(t, token)
		switch header["alg"] {
		case "ES256":
			h := sha256.Sum256([]byte(in))
			if len(sig) != 64 || !ecdsa.Verify(&ecKey.PublicKey, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				t.Fatalf("accepted an ES256 token the key did not sign: %q", token)
			}
		case "EdDSA":
			if !ed25519.Verify(edPriv.Public().(ed25519.PublicKey), []byte(in), sig) {
				t.Fatalf("accepted an EdDSA token the key did not sign: %q", token)
			}
		default:
			t.Fatalf("accepted alg %v: %q", header["alg"], token)
		}
		if _, err := ValidatePrincipal(string(p.Role), p.Subject); err != nil {
			t.Fatalf("accepted an invalid principal %+v: %v", p, err)
		}
	})
}

func itoa(n int64) string { return big.NewInt(n).String() }

// stdClaims are the claims every token of the server's own carries
// besides role, sub and exp: iss, aud, jti and iat (now).
func stdClaims() string {
	return `"iss":"` + TokenIssuer + `","aud":"` + TokenAudience + `","jti":"fuzz-1","iat":` + itoa(time.Now().Unix())
}
