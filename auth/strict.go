package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// checkUnverified checks what golang-jwt lets through before any key is
// looked up: the header's typ must be one of typs (case-insensitive), and
// the time claims (exp, iat, nbf) must be JSON numbers: golang-jwt reads
// "exp": "4102444800" as a date, and a token whose expiry is a string was
// accepted. Checking before the signature means a malformed token costs
// no key lookup (and no JWK Set refresh).
func checkUnverified(token string, typs ...string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%w: token is not three base64url segments", ErrUnauthenticated)
	}
	p := jwt.NewParser()
	hb, err := p.DecodeSegment(parts[0])
	if err != nil {
		return fmt.Errorf("%w: header: %w", ErrUnauthenticated, err)
	}
	var header struct {
		Typ *string `json:"typ"`
	}
	if err := json.Unmarshal(hb, &header); err != nil {
		return fmt.Errorf("%w: header: %w", ErrUnauthenticated, err)
	}
	ok := false
	for _, t := range typs {
		ok = ok || (header.Typ != nil && strings.EqualFold(*header.Typ, t))
	}
	if !ok {
		got := "none"
		if header.Typ != nil {
			got = fmt.Sprintf("%q", *header.Typ)
		}
		return fmt.Errorf("%w: token type %s, want one of %q", ErrUnauthenticated, got, typs)
	}
	pb, err := p.DecodeSegment(parts[1])
	if err != nil {
		return fmt.Errorf("%w: payload: %w", ErrUnauthenticated, err)
	}
	if err := checkClaimNames(pb); err != nil {
		return err
	}
	var payload map[string]json.RawMessage
	if err := json.Unmarshal(pb, &payload); err != nil {
		return fmt.Errorf("%w: payload: %w", ErrUnauthenticated, err)
	}
	for _, k := range []string{"exp", "iat", "nbf"} {
		v, present := payload[k]
		if !present {
			continue
		}
		v = bytes.TrimSpace(v)
		if len(v) == 0 || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) {
			return fmt.Errorf("%w: claim %s must be a JSON number", ErrUnauthenticated, k)
		}
	}
	return nil
}

// knownClaims are the claim names the ledger reads.
var knownClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "role", "typ"}

// checkClaimNames refuses a payload with a claim given twice, or with a
// claim whose name is one the ledger reads in another case ("suB",
// "Role"): JWT claim names are case-sensitive (RFC 7519 §4), but Go's
// JSON decoder matches them regardless of case and keeps the last of
// duplicates, so {"role":"company",…,"role":"admin"} would read as admin.
func checkClaimNames(payload []byte) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("%w: payload is not a JSON object", ErrUnauthenticated)
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: payload: %w", ErrUnauthenticated, err)
		}
		name, _ := t.(string)
		if seen[name] {
			return fmt.Errorf("%w: claim %q given twice", ErrUnauthenticated, name)
		}
		seen[name] = true
		for _, k := range knownClaims {
			if name != k && strings.EqualFold(name, k) {
				return fmt.Errorf("%w: claim %q: claim names are case-sensitive (want %q)", ErrUnauthenticated, name, k)
			}
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("%w: payload: %w", ErrUnauthenticated, err)
		}
	}
	return nil
}
