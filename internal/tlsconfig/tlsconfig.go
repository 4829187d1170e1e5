// Package tlsconfig loads the HTTP API's TLS certificate, key and client
// CA and builds a strict server configuration from them: TLS 1.2 at least
// (1.3 preferred), only ECDHE AEAD cipher suites under TLS 1.2, HTTP/2 by
// ALPN, and client certificates verified when a client CA is given.
//
// Weak material is refused at load with one line naming the file and the
// fault: a certificate and key that do not match, an RSA key under 2048
// bits, a certificate outside its validity period, one whose extended key
// usages do not include serverAuth, one signed with SHA-1 or MD5, a key
// file readable by group or others.
//
// Renegotiation: crypto/tls servers never renegotiate (a client's
// renegotiation request is refused by the library), so nothing is needed
// to turn it off.
package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"sync/atomic"
	"time"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
)

// ErrWeak is the error of TLS material or settings the server refuses.
var ErrWeak = errs.New(errs.Invalid, "weak or invalid TLS setting")

// MinRSABits is the smallest RSA key accepted, for the server's key and
// for the client CA's.
const MinRSABits = 2048

// Files are the PEM files of the TLS configuration.
type Files struct {
	// Cert is the server's certificate (the leaf first, then any
	// intermediates). Required with Key.
	Cert string
	// Key is the server's private key (PKCS #8, PKCS #1 or SEC 1 PEM),
	// mode 0600. Required with Cert.
	Key string
	// ClientCA is optional: the CA certificates that sign client (bank)
	// certificates, and any "X509 CRL" blocks they issued: a client
	// certificate listed in one is refused by the handshake.
	ClientCA string
}

// Enabled reports whether TLS is configured at all.
func (f Files) Enabled() bool { return f.Cert != "" || f.Key != "" || f.ClientCA != "" }

// cipherSuites are the TLS 1.2 suites offered: ECDHE key exchange (forward
// secrecy) with an AEAD only. (TLS 1.3's suites are all AEAD and not
// configurable.) Both AES-128-GCM ones are needed by HTTP/2 (RFC 9113,
// 9.2.2).
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// CipherSuites returns the TLS 1.2 cipher suites the server accepts.
func CipherSuites() []uint16 { return append([]uint16(nil), cipherSuites...) }

// Server holds the loaded material; Reload replaces it while serving.
type Server struct {
	files Files
	now   func() time.Time
	state atomic.Pointer[state]
}

// state is one loading of the files.
type state struct {
	cert    *tls.Certificate
	clients *x509.CertPool
	revoked map[string]bool // issuer DER subject + serial, from the CRLs
	config  *tls.Config
}

// Load reads and checks the files at now. The error is one line, matching
// ErrWeak for refused material, keyfile.ErrExposed for a key readable by
// group or others.
func Load(f Files, now func() time.Time) (*Server, error) {
	if now == nil {
		now = time.Now
	}
	s := &Server{files: f, now: now}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads and checks the files again; on failure the material in use
// stays.
func (s *Server) Reload() error {
	st, err := s.load()
	if err != nil {
		return err
	}
	s.state.Store(st)
	return nil
}

// Config returns the server's TLS configuration; each handshake uses the
// material of the latest successful load.
func (s *Server) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.state.Load().config, nil
		},
		NextProtos: []string{"h2", "http/1.1"},
	}
}

// ClientAuth reports whether client certificates are verified.
func (s *Server) ClientAuth() bool { return s.files.ClientCA != "" }

// Leaf returns the certificate served.
func (s *Server) Leaf() *x509.Certificate { return s.state.Load().cert.Leaf }

func weak(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrWeak, fmt.Sprintf(format, args...))
}

func (s *Server) load() (*state, error) {
	f := s.files
	if f.Cert == "" || f.Key == "" {
		return nil, weak("--tls-cert and --tls-key go together (--tls-client-ca needs both)")
	}
	certPEM, err := os.ReadFile(f.Cert)
	if err != nil {
		return nil, fmt.Errorf("read TLS certificate: %w", err)
	}
	keyPEM, err := keyfile.Read(f.Key)
	if err != nil {
		if errors.Is(err, keyfile.ErrExposed) {
			return nil, err
		}
		return nil, fmt.Errorf("read TLS key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, weak("TLS certificate %s and key %s: %v", f.Cert, f.Key, err)
	}
	if err := checkLeaf(f.Cert, cert.Leaf, s.now()); err != nil {
		return nil, err
	}
	st := &state{cert: &cert}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: cipherSuites,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		// The server's order of preference under TLS 1.2, ECDHE curves
		// and TLS 1.3 are the library's defaults (X25519MLKEM768 first).
	}
	if f.ClientCA != "" {
		if err := st.loadClientCA(f.ClientCA, s.now()); err != nil {
			return nil, err
		}
		cfg.ClientCAs = st.clients
		// Tokens still work for everyone else: a certificate is
		// verified when given, never required.
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		// Called on resumed sessions too: crypto/tls re-checks their
		// expiry and CA pool, not revocation.
		if len(st.revoked) > 0 {
			cfg.VerifyConnection = st.checkRevoked
		}
	}
	st.config = cfg
	return st, nil
}

// checkLeaf refuses a server certificate that is weak or not valid now.
func checkLeaf(file string, leaf *x509.Certificate, now time.Time) error {
	if err := checkKey(file, leaf.PublicKey); err != nil {
		return err
	}
	if now.Before(leaf.NotBefore) {
		return weak("TLS certificate %s is not valid before %s", file, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(leaf.NotAfter) {
		return weak("TLS certificate %s expired on %s", file, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if len(leaf.ExtKeyUsage) > 0 || len(leaf.UnknownExtKeyUsage) > 0 {
		ok := false
		for _, u := range leaf.ExtKeyUsage {
			ok = ok || u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny
		}
		if !ok {
			return weak("TLS certificate %s has extended key usages without serverAuth", file)
		}
	}
	switch leaf.SignatureAlgorithm {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		return weak("TLS certificate %s is signed with %s", file, leaf.SignatureAlgorithm)
	}
	return nil
}

// checkKey refuses an RSA key under MinRSABits, an ECDSA key on a curve
// under P-256, and any key type other than RSA, ECDSA and Ed25519.
func checkKey(file string, pub any) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return weak("%s has a %d-bit RSA key; at least %d bits are required", file, k.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return weak("%s has an ECDSA key on %s; P-256 or larger is required", file, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return weak("%s has an unsupported %T key", file, pub)
	}
	return nil
}

// loadClientCA reads the client CA file: its CA certificates, and its
// CRLs, each checked against the CA that issued it.
func (st *state) loadClientCA(file string, now time.Time) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read TLS client CA: %w", err)
	}
	st.clients = x509.NewCertPool()
	st.revoked = map[string]bool{}
	var cas []*x509.Certificate
	var crls []*x509.RevocationList
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return weak("TLS client CA %s: %v", file, err)
			}
			if !c.IsCA {
				return weak("TLS client CA %s: %q is not a CA certificate", file, c.Subject.String())
			}
			if err := checkKey(file, c.PublicKey); err != nil {
				return err
			}
			if now.After(c.NotAfter) {
				return weak("TLS client CA %s: %q expired on %s", file, c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339))
			}
			cas = append(cas, c)
			st.clients.AddCert(c)
		case "X509 CRL":
			l, err := x509.ParseRevocationList(block.Bytes)
			if err != nil {
				return weak("TLS client CA %s: CRL: %v", file, err)
			}
			crls = append(crls, l)
		default:
			return weak("TLS client CA %s: unexpected PEM block %q", file, block.Type)
		}
	}
	if len(cas) == 0 {
		return weak("TLS client CA %s holds no CA certificate", file)
	}
	for _, l := range crls {
		var issuer *x509.Certificate
		for _, c := range cas {
			if l.CheckSignatureFrom(c) == nil {
				issuer = c
			}
		}
		if issuer == nil {
			return weak("TLS client CA %s: a CRL (issuer %q) is signed by none of its CAs", file, l.Issuer.String())
		}
		if !l.NextUpdate.IsZero() && now.After(l.NextUpdate) {
			return weak("TLS client CA %s: the CRL of %q is stale since %s", file, l.Issuer.String(), l.NextUpdate.UTC().Format(time.RFC3339))
		}
		for _, e := range l.RevokedCertificateEntries {
			st.revoked[revocationKey(issuer.RawSubject, e.SerialNumber)] = true
		}
	}
	return nil
}

func revocationKey(issuer []byte, serial *big.Int) string {
	return string(issuer) + "\x00" + serial.String()
}

// checkRevoked refuses a handshake whose verified client chain holds a
// revoked certificate.
func (st *state) checkRevoked(cs tls.ConnectionState) error {
	for _, chain := range cs.VerifiedChains {
		for _, c := range chain {
			if st.revoked[revocationKey(c.RawIssuer, c.SerialNumber)] {
				return fmt.Errorf("client certificate %q (serial %s) is revoked", c.Subject.String(), c.SerialNumber)
			}
		}
	}
	return nil
}
