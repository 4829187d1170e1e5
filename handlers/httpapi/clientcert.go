package httpapi

import (
	"encoding/asn1"
	"fmt"
	"net/http"
	"strings"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
)

// oidSerialNumber is the X.520 serialNumber attribute (2.5.4.5) of a
// certificate's subject: a bank certificate's bank code.
var oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}

// clientCertPrincipal returns the bank a request's client certificate
// authenticates, if the TLS layer verified one against the client CA
// (--tls-client-ca): role bank, subject the certificate subject's one
// serialNumber attribute, which must be a 5-digit bank code. ok is false
// when no verified certificate came with the request. A verified
// certificate that names no bank is an error matching
// auth.ErrUnauthenticated.
//
// WARNING: the mapping is a public contract (docs/API.md, "TLS").
func clientCertPrincipal(r *http.Request) (p auth.Principal, ok bool, err error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return auth.Principal{}, false, nil
	}
	leaf := r.TLS.VerifiedChains[0][0]
	var codes []string
	for _, a := range leaf.Subject.Names {
		if a.Type.Equal(oidSerialNumber) {
			s, _ := a.Value.(string)
			codes = append(codes, s)
		}
	}
	if len(codes) != 1 {
		return auth.Principal{}, true, fmt.Errorf("%w: client certificate %q: want one subject serialNumber, the bank code, found %d",
			auth.ErrUnauthenticated, leaf.Subject.String(), len(codes))
	}
	p, err = auth.ValidatePrincipal(string(domain.RoleBank), codes[0])
	if err != nil {
		return auth.Principal{}, true, fmt.Errorf("%w: client certificate %q: %w", auth.ErrUnauthenticated, leaf.Subject.String(), err)
	}
	return p, true, nil
}

// hasClientCert reports whether the request came with a client
// certificate the TLS layer verified.
func hasClientCert(r *http.Request) bool {
	return r.TLS != nil && len(r.TLS.VerifiedChains) > 0
}

// verifyCaller authenticates a request from its bearer token (when bearer
// is true), its verified client certificate, or both: with both, they
// must name the same principal (a bank's token with that bank's
// certificate), else the request is refused as unauthenticated: a token
// must never widen, nor change, what a certificate holder may do.
func (s *Server) verifyCaller(r *http.Request, token string, bearer bool) (auth.Principal, error) {
	cert, hasCert, err := clientCertPrincipal(r)
	if err != nil {
		return auth.Principal{}, err
	}
	if !bearer {
		if r.Header.Get("Authorization") != "" {
			// Something other than a bearer token beside a certificate:
			// refused rather than ignored.
			return auth.Principal{}, fmt.Errorf("%w: an Authorization header that is not a bearer token", auth.ErrUnauthenticated)
		}
		return cert, nil
	}
	p, err := s.cfg.Verifier.Verify(strings.TrimSpace(token))
	if err != nil || !hasCert {
		return p, err
	}
	if p.Role != cert.Role || p.Subject != cert.Subject {
		return auth.Principal{}, fmt.Errorf("%w: the token's %s %s is not the client certificate's bank %s", auth.ErrUnauthenticated, p.Role, p.Subject, cert.Subject)
	}
	return p, nil
}
