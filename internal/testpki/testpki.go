// Package testpki makes real X.509 certificates for tests: a CA, server
// and client certificates signed by it, expired or weak ones, written as
// PEM files. It is for tests only.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// serials makes every certificate's serial unique within a test binary.
var serials atomic.Int64

// Cert is a certificate and its private key.
type Cert struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Options adjust a certificate before it is signed.
type Options struct {
	// Key is the certificate's key (a new ECDSA P-256 key when nil).
	Key crypto.Signer
	// NotBefore and NotAfter default to an hour ago and a day ahead.
	NotBefore, NotAfter time.Time
	// Subject defaults to CN=test.
	Subject pkix.Name
	// EKU defaults to serverAuth for a server, clientAuth for a client;
	// set NoEKU for none.
	EKU   []x509.ExtKeyUsage
	NoEKU bool
	// IPs and DNS are the subject alternative names.
	IPs []net.IP
	DNS []string
	// SigAlg is the CA's signature algorithm (the library's choice when
	// zero).
	SigAlg x509.SignatureAlgorithm
}

func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (o *Options) fill(t testing.TB) {
	if o.Key == nil {
		o.Key = newKey(t)
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if o.Subject.CommonName == "" && o.Subject.SerialNumber == "" {
		o.Subject.CommonName = "test"
	}
}

// NewCA returns a self-signed CA named name.
func NewCA(t testing.TB, name string) *Cert {
	t.Helper()
	return NewCAWith(t, Options{Subject: pkix.Name{CommonName: name, Organization: []string{"test"}}})
}

// NewCAWith returns a self-signed CA as o says (its EKUs and names
// ignored); it outlives a default certificate by a day.
func NewCAWith(t testing.TB, o Options) *Cert {
	t.Helper()
	o.fill(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials.Add(1)), Subject: o.Subject,
		NotBefore: o.NotBefore, NotAfter: o.NotAfter.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, o.Key.Public(), o.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Cert{Cert: c, Key: o.Key}
}

// Server returns a server certificate signed by ca, for 127.0.0.1 and
// localhost unless o says otherwise.
func (ca *Cert) Server(t testing.TB, o Options) *Cert {
	t.Helper()
	if o.IPs == nil && o.DNS == nil {
		o.IPs, o.DNS = []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"}
	}
	if o.EKU == nil && !o.NoEKU {
		o.EKU = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	return ca.issue(t, o)
}

// Client returns a client certificate signed by ca.
func (ca *Cert) Client(t testing.TB, o Options) *Cert {
	t.Helper()
	if o.EKU == nil && !o.NoEKU {
		o.EKU = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return ca.issue(t, o)
}

func (ca *Cert) issue(t testing.TB, o Options) *Cert {
	t.Helper()
	o.fill(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials.Add(1)), Subject: o.Subject,
		NotBefore: o.NotBefore, NotAfter: o.NotAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: o.EKU, IPAddresses: o.IPs, DNSNames: o.DNS, SignatureAlgorithm: o.SigAlg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, o.Key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Cert{Cert: c, Key: o.Key}
}

// CRL returns a PEM CRL of ca revoking the given certificates, valid for a
// day.
func (ca *Cert) CRL(t testing.TB, revoked ...*Cert) []byte {
	t.Helper()
	return ca.CRLAt(t, time.Now().Add(-time.Minute), time.Now().Add(24*time.Hour), revoked...)
}

// CRLAt returns a PEM CRL of ca revoking the given certificates, issued at
// this and due for update at next.
func (ca *Cert) CRLAt(t testing.TB, this, next time.Time, revoked ...*Cert) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{
		Number: big.NewInt(serials.Add(1)), ThisUpdate: this, NextUpdate: next,
	}
	for _, r := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: r.Cert.SerialNumber, RevocationTime: this,
		})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// CertPEM returns the certificate as PEM.
func (c *Cert) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// KeyPEM returns the private key as PKCS #8 PEM.
func (c *Cert) KeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Write writes the certificate and its key (mode 0600) into dir as
// name.crt and name.key and returns their paths.
func (c *Cert) Write(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	WriteFile(t, certFile, c.CertPEM())
	if err := os.WriteFile(keyFile, c.KeyPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// WriteFile writes data to path (mode 0644, a public file).
func WriteFile(t testing.TB, path string, data ...[]byte) {
	t.Helper()
	var all []byte
	for _, d := range data {
		all = append(all, d...)
	}
	if err := os.WriteFile(path, all, 0o644); err != nil {
		t.Fatal(err)
	}
}
