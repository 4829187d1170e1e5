package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// FuzzVerify: no input makes Verify panic, and nothing but a token the
// key signed is accepted (a fuzzer cannot forge an Ed25519 signature, so
// any accepted input must be one of the seeds the signer issued, possibly
// with trailing or leading white space removed by the transport).
func FuzzVerify(f *testing.F) {
	s, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	good, _ := s.Issue(Principal{Role: domain.RoleBank, Subject: "30004"}, time.Hour)
	f.Add(good)
	f.Add("")
	f.Add("a.b.c")
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add(`eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJleHAiOiI0MTAyNDQ0ODAwIn0.`)
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := s.Verify(tok)
		if err == nil && (tok != good || p.Subject != "30004") {
			t.Fatalf("accepted %q as %+v", tok, p)
		}
		_ = checkUnverified(tok, jwksTypes...)
	})
}
