package tlsconfig_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
	"github.com/attestation-ledger/attestation-ledger/internal/testpki"
	"github.com/attestation-ledger/attestation-ledger/internal/tlsconfig"
)

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Each weak setting is refused at load, on one line naming the file and
// the fault.
func TestWeakMaterialIsRefused(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	good := ca.Server(t, testpki.Options{})
	goodCert, goodKey := good.Write(t, dir, "good")
	other := ca.Server(t, testpki.Options{})
	_, otherKey := other.Write(t, dir, "other")
	weakCert, weakKey := ca.Server(t, testpki.Options{Key: rsaKey(t, 1024)}).Write(t, dir, "rsa1024")
	expCert, expKey := ca.Server(t, testpki.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}).Write(t, dir, "expired")
	futCert, futKey := ca.Server(t, testpki.Options{NotBefore: time.Now().Add(time.Hour)}).Write(t, dir, "future")
	clientOnlyCert, clientOnlyKey := ca.Server(t, testpki.Options{EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}).Write(t, dir, "clientonly")
	exposedCert, exposedKey := ca.Server(t, testpki.Options{}).Write(t, dir, "exposed")
	if err := os.Chmod(exposedKey, 0o640); err != nil {
		t.Fatal(err)
	}
	leafAsCA := filepath.Join(dir, "leaf-as-ca.pem")
	testpki.WriteFile(t, leafAsCA, good.CertPEM())
	empty := filepath.Join(dir, "empty.pem")
	testpki.WriteFile(t, empty, []byte("nothing here\n"))
	expiredCA := filepath.Join(dir, "expired-ca.pem")
	testpki.WriteFile(t, expiredCA, testpki.NewCAWith(t, testpki.Options{Subject: pkix.Name{CommonName: "old CA"},
		NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-48 * time.Hour)}).CertPEM())
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224Cert, p224Key := ca.Server(t, testpki.Options{Key: p224}).Write(t, dir, "p224")
	sha1Cert, sha1Key := ca.Server(t, testpki.Options{SigAlg: x509.ECDSAWithSHA1}).Write(t, dir, "sha1")
	staleCRL := filepath.Join(dir, "stale-crl.pem")
	testpki.WriteFile(t, staleCRL, ca.CertPEM(), ca.CRLAt(t, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)))
	foreignCRL := filepath.Join(dir, "foreign-crl.pem")
	testpki.WriteFile(t, foreignCRL, ca.CertPEM(), testpki.NewCA(t, "other CA").CRL(t))

	for _, c := range []struct {
		name  string
		files tlsconfig.Files
		want  []string
	}{
		{"mismatched pair", tlsconfig.Files{Cert: goodCert, Key: otherKey}, []string{goodCert, otherKey, "does not match"}},
		{"RSA 1024", tlsconfig.Files{Cert: weakCert, Key: weakKey}, []string{weakCert, "1024-bit RSA", "2048"}},
		{"expired", tlsconfig.Files{Cert: expCert, Key: expKey}, []string{expCert, "expired on"}},
		{"not yet valid", tlsconfig.Files{Cert: futCert, Key: futKey}, []string{futCert, "not valid before"}},
		{"no serverAuth", tlsconfig.Files{Cert: clientOnlyCert, Key: clientOnlyKey}, []string{clientOnlyCert, "without serverAuth"}},
		{"cert without key", tlsconfig.Files{Cert: goodCert}, []string{"--tls-cert and --tls-key go together"}},
		{"client CA without cert", tlsconfig.Files{ClientCA: leafAsCA}, []string{"--tls-cert and --tls-key go together"}},
		{"client CA not a CA", tlsconfig.Files{Cert: goodCert, Key: goodKey, ClientCA: leafAsCA}, []string{leafAsCA, "not a CA certificate"}},
		{"client CA empty", tlsconfig.Files{Cert: goodCert, Key: goodKey, ClientCA: empty}, []string{empty, "no CA certificate"}},
		{"SHA-1 signature", tlsconfig.Files{Cert: sha1Cert, Key: sha1Key}, []string{sha1Cert, "signed with ECDSA-SHA1"}},
		{"P-224 key", tlsconfig.Files{Cert: p224Cert, Key: p224Key}, []string{p224Cert, "P-224", "P-256 or larger"}},
		{"expired client CA", tlsconfig.Files{Cert: goodCert, Key: goodKey, ClientCA: expiredCA}, []string{expiredCA, "old CA", "expired on"}},
		{"stale CRL", tlsconfig.Files{Cert: goodCert, Key: goodKey, ClientCA: staleCRL}, []string{staleCRL, "stale since"}},
		{"CRL of another CA", tlsconfig.Files{Cert: goodCert, Key: goodKey, ClientCA: foreignCRL}, []string{foreignCRL, "signed by none of its CAs"}},
	} {
		_, err := tlsconfig.Load(c.files, nil)
		if !errors.Is(err, tlsconfig.ErrWeak) {
			t.Errorf("%s: %v, want ErrWeak", c.name, err)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error on several lines: %q", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}
	_, err = tlsconfig.Load(tlsconfig.Files{Cert: exposedCert, Key: exposedKey}, nil)
	if !errors.Is(err, keyfile.ErrExposed) || !strings.Contains(err.Error(), "chmod 600 "+exposedKey) {
		t.Errorf("key at 0640: %v", err)
	}
	if _, err := tlsconfig.Load(tlsconfig.Files{Cert: goodCert, Key: goodKey}, nil); err != nil {
		t.Errorf("the good pair is refused: %v", err)
	}
	// RSA 2048, Ed25519 and a certificate without EKUs are fine.
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for name, o := range map[string]testpki.Options{
		"rsa2048": {Key: rsaKey(t, 2048)}, "ed25519": {Key: edKey}, "noeku": {NoEKU: true},
	} {
		cert, key := ca.Server(t, o).Write(t, dir, name)
		if _, err := tlsconfig.Load(tlsconfig.Files{Cert: cert, Key: key}, nil); err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
	}
}

// A client CA whose key is a 1024-bit RSA key is refused.
func TestWeakClientCAIsRefused(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	cert, key := ca.Server(t, testpki.Options{}).Write(t, dir, "server")
	weak := testpki.NewCA(t, "weak") // self-signed again with an RSA 1024 key
	k := rsaKey(t, 1024)
	tmpl := *weak.Cert
	tmpl.SubjectKeyId, tmpl.SignatureAlgorithm, tmpl.PublicKey = nil, 0, k.Public()
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	file := filepath.Join(dir, "weak-ca.pem")
	testpki.WriteFile(t, file, (&testpki.Cert{Cert: c, Key: k}).CertPEM())
	_, err = tlsconfig.Load(tlsconfig.Files{Cert: cert, Key: key, ClientCA: file}, nil)
	if !errors.Is(err, tlsconfig.ErrWeak) || !strings.Contains(err.Error(), "1024-bit RSA") {
		t.Fatalf("weak client CA: %v", err)
	}
}

// serveTLS accepts connections with the loaded configuration and
// completes each handshake; it returns the address.
func serveTLS(t *testing.T, s *tlsconfig.Server) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", s.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
				_, _ = c.Write([]byte("x"))
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	// Under TLS 1.3 a refused client certificate shows on the first read.
	// (The byte may come with io.EOF: the server closes at once.)
	if n, err := c.Read(make([]byte, 1)); n != 1 {
		return tls.ConnectionState{}, err
	}
	return c.ConnectionState(), nil
}

// The handshake: TLS 1.3 by default with ALPN h2, TLS 1.2 with an ECDHE
// AEAD suite, never TLS 1.1 nor a suite without forward secrecy or AEAD;
// client certificates of the client CA are verified, others and revoked
// ones refused; a reload picks up a new CRL.
func TestHandshake(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	certFile, keyFile := ca.Server(t, testpki.Options{Key: rsaKey(t, 2048)}).Write(t, dir, "server")
	bankCA := testpki.NewCA(t, "bank CA")
	bank := bankCA.Client(t, testpki.Options{Subject: pkix.Name{SerialNumber: "30004"}})
	revoked := bankCA.Client(t, testpki.Options{Subject: pkix.Name{SerialNumber: "30004"}})
	stranger := testpki.NewCA(t, "stranger CA").Client(t, testpki.Options{Subject: pkix.Name{SerialNumber: "30004"}})
	expired := bankCA.Client(t, testpki.Options{Subject: pkix.Name{SerialNumber: "30004"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	caFile := filepath.Join(dir, "clients.pem")
	testpki.WriteFile(t, caFile, bankCA.CertPEM())
	s, err := tlsconfig.Load(tlsconfig.Files{Cert: certFile, Key: keyFile, ClientCA: caFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, s)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	client := func() *tls.Config { return &tls.Config{RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}} }

	st, err := dial(addr, client())
	if err != nil || st.Version != tls.VersionTLS13 || st.NegotiatedProtocol != "h2" {
		t.Fatalf("default client: %v, version %x, ALPN %q", err, st.Version, st.NegotiatedProtocol)
	}
	c := client()
	c.MaxVersion = tls.VersionTLS12
	st, err = dial(addr, c)
	if err != nil || st.Version != tls.VersionTLS12 || st.CipherSuite != tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 && st.CipherSuite != tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 && st.CipherSuite != tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 {
		t.Fatalf("TLS 1.2 client: %v, version %x, suite %s", err, st.Version, tls.CipherSuiteName(st.CipherSuite))
	}
	c = client()
	c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := dial(addr, c); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	for _, suite := range []uint16{
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256,       // no forward secrecy
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,    // CBC, SHA-1
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, // CBC
		tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	} {
		c = client()
		c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{suite}
		if _, err := dial(addr, c); err == nil {
			t.Errorf("a client offering only %s was served", tls.CipherSuiteName(suite))
		}
	}

	withCert := func(cert *testpki.Cert) *tls.Config {
		c := client()
		// Sent whatever CAs the server names (crypto/tls would otherwise
		// send none that the server does not name).
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &tls.Certificate{Certificate: [][]byte{cert.Cert.Raw}, PrivateKey: cert.Key, Leaf: cert.Cert}, nil
		}
		return c
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c := withCert(bank)
		c.MaxVersion = v
		st, err := dial(addr, c)
		if err != nil || len(st.PeerCertificates) == 0 {
			t.Fatalf("bank certificate (version %x): %v", v, err)
		}
		for name, cert := range map[string]*testpki.Cert{"another CA's": stranger, "an expired": expired} {
			c := withCert(cert)
			c.MaxVersion = v
			if _, err := dial(addr, c); err == nil {
				t.Errorf("%s certificate was accepted (version %x)", name, v)
			}
		}
	}
	// A client that keeps its sessions, to try resuming after revocation.
	resuming := map[uint16]*tls.Config{}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c := withCert(revoked)
		c.MaxVersion, c.ClientSessionCache = v, tls.NewLRUClientSessionCache(4)
		resuming[v] = c
		for i := range 2 {
			st, err := dial(addr, c)
			if err != nil {
				t.Fatalf("not revoked yet (version %x): %v", v, err)
			}
			if i == 1 && !st.DidResume {
				t.Fatalf("the session was not resumed (version %x): the check below would be vacuous", v)
			}
		}
	}
	// Revoke it and reload: refused, even resuming a session; the other
	// bank certificate still fine.
	testpki.WriteFile(t, caFile, bankCA.CertPEM(), bankCA.CRL(t, revoked))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(addr, withCert(revoked)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a revoked certificate was accepted: %v", err)
	}
	for v, c := range resuming {
		if st, err := dial(addr, c); err == nil {
			t.Errorf("a revoked certificate's session was resumed (version %x, resumed %v)", v, st.DidResume)
		}
	}
	if _, err := dial(addr, withCert(bank)); err != nil {
		t.Errorf("after the CRL: %v", err)
	}
	// The bank CA removed by a reload: its certificates are refused, even
	// resuming a session.
	c = withCert(bank)
	c.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	if _, err := dial(addr, c); err != nil {
		t.Fatal(err)
	}
	if st, err := dial(addr, c); err != nil || !st.DidResume {
		t.Fatalf("no resumption: %v", err)
	}
	testpki.WriteFile(t, caFile, testpki.NewCA(t, "new bank CA").CertPEM())
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if st, err := dial(addr, c); err == nil {
		t.Errorf("a certificate of a removed CA was accepted (resumed %v)", st.DidResume)
	}
	testpki.WriteFile(t, caFile, bankCA.CertPEM(), bankCA.CRL(t, revoked))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	// A reload that fails keeps the material in use.
	testpki.WriteFile(t, caFile, []byte("garbage"))
	if err := s.Reload(); !errors.Is(err, tlsconfig.ErrWeak) {
		t.Errorf("reload of a broken CA file: %v", err)
	}
	if _, err := dial(addr, withCert(bank)); err != nil {
		t.Errorf("after a failed reload: %v", err)
	}
}

// SIGHUP-style reload serves the new certificate on the next handshake.
func TestReloadServesTheNewCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	first := ca.Server(t, testpki.Options{})
	certFile, keyFile := first.Write(t, dir, "server")
	s, err := tlsconfig.Load(tlsconfig.Files{Cert: certFile, Key: keyFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, s)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	second := ca.Server(t, testpki.Options{})
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	second.Write(t, dir, "server")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	st, err := dial(addr, &tls.Config{RootCAs: roots})
	if err != nil || st.PeerCertificates[0].SerialNumber.Cmp(second.Cert.SerialNumber) != 0 {
		t.Fatalf("after reload: %v", err)
	}
}
