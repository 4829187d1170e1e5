package journal

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Over TLS (RFC 5425) to a real rsyslog with the gnutls driver: entries
// arrive when the collector's certificate chains to the configured CA,
// and nothing is sent to a collector whose certificate does not.
func TestShipsToRsyslogOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t, "journal test CA")
	files := &rsyslogTLS{ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
	writeCert(t, files.ca, ca.Raw)
	cert, key := newLeaf(t, ca, caKey)
	writeCert(t, files.cert, cert)
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files.key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRsyslog(t, files)
	r.start(t)

	store := openStore(t, t.TempDir())
	// A CA that did not sign the collector's certificate: refused.
	other, _ := newCA(t, "another CA")
	bad := x509.NewCertPool()
	bad.AddCert(other)
	cfg := testConfig(store, t.TempDir(), t.TempDir())
	cfg.Syslog = &SyslogConfig{Addr: r.addr(), TLS: &tls.Config{RootCAs: bad}, Consumer: "refused"}
	j := openJournal(t, cfg)
	if err := j.Record(read(0, "552100554")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the untrusted collector to be refused", func() bool {
		st := j.Status().Syslog
		return !st.Connected && st.LastError != "" && st.Shipped == 0
	})

	good := x509.NewCertPool()
	good.AddCert(ca)
	cfg2 := testConfig(store, t.TempDir(), t.TempDir())
	cfg2.Syslog = &SyslogConfig{Addr: r.addr(), TLS: &tls.Config{RootCAs: good}}
	j2 := openJournal(t, cfg2)
	for i := range 3 {
		if err := j2.Record(read(i, "732829320")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "entries 1-4 in rsyslog's file over TLS", func() bool { return r.hasAll(4) })
	if st := j.Status().Syslog; st.Shipped != 0 {
		t.Fatalf("shipped %d entries to an untrusted collector", st.Shipped)
	}
}

func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func newLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func writeCert(t *testing.T, path string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
