package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
	"github.com/attestation-ledger/attestation-ledger/internal/testpki"
)

// startServe runs `ledger serve` in-process with args (after --data-dir
// and a free --http-addr) and returns its address once it listens.
func startServe(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		cmd := newServeCommand()
		cmd.Flags().String("config", "", "")
		if err := cmd.ParseFlags(append([]string{"--data-dir", dir, "--http-addr", "127.0.0.1:0", "--log-level", "warn"}, args...)); err != nil {
			served <- err
			return
		}
		v, err := loadConfig(cmd)
		if err != nil {
			served <- err
			return
		}
		served <- serve(ctx, v, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		t.Fatalf("serve: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve stopped with %v", err)
		}
	})
	return addr
}

// tlsClient is an HTTPS client trusting roots, presenting cert (if not
// nil) whatever CAs the server names, with HTTP/2 on.
func tlsClient(roots *x509.CertPool, cert *testpki.Cert, adjust ...func(*tls.Config)) *http.Client {
	cfg := &tls.Config{RootCAs: roots}
	if cert != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &tls.Certificate{Certificate: [][]byte{cert.Cert.Raw}, PrivateKey: cert.Key, Leaf: cert.Cert}, nil
		}
	}
	for _, a := range adjust {
		a(cfg)
	}
	h2 := len(cfg.NextProtos) == 0 // NextProtos set: exactly those
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: h2}}
}

type answer struct {
	status int
	proto  string
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func send(c *http.Client, method, url, token string, body any) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, proto: resp.Proto, body: b}, err
}

// The served HTTPS API with real certificates made here: HTTP/2, no plain
// HTTP, no TLS 1.1, no weak suite; a bank's client certificate (signed by
// the client CA, its code in the subject's serialNumber) authenticates as
// that bank and sees that bank's data only; with a token too, both must
// name the same bank; a certificate of another CA, an expired or a
// revoked one is refused by the handshake; tokens still work.
func TestServeHTTPSWithBankClientCertificates(t *testing.T) {
	dir, pki := t.TempDir(), t.TempDir()
	serverCA, bankCA, otherCA := testpki.NewCA(t, "server CA"), testpki.NewCA(t, "bank CA"), testpki.NewCA(t, "other CA")
	certFile, keyFile := serverCA.Server(t, testpki.Options{}).Write(t, pki, "server")
	bnp := bankCA.Client(t, testpki.Options{Subject: pkix.Name{SerialNumber: "30004", Organization: []string{"BNP Paribas"}}})
	sg := bankCA.Client(t, testpki.Options{Subject: pkix.Name{SerialNumber: "30003", Organization: []string{"Societe Generale"}}})
	noCode := bankCA.Client(t, testpki.Options{Subject: pkix.Name{CommonName: "30004"}})
	revoked := bankCA.Client(t, testpki.Options{Subject: pkix.Name{SerialNumber: "30004"}})
	expired := bankCA.Client(t, testpki.Options{Subject: pkix.Name{SerialNumber: "30004"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	foreign := otherCA.Client(t, testpki.Options{Subject: pkix.Name{SerialNumber: "30004"}})
	caFile := filepath.Join(pki, "bank-ca.pem")
	testpki.WriteFile(t, caFile, bankCA.CertPEM(), bankCA.CRL(t, revoked))

	addr := startServe(t, dir, "--tls-cert", certFile, "--tls-key", keyFile, "--tls-client-ca", caFile)
	base := "https://" + addr
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.Cert)
	plain := tlsClient(roots, nil)
	signer, err := datadir.New(dir).KeysDir("").LoadTokenKey()
	if err != nil {
		t.Fatal(err)
	}
	token := func(role domain.Role, subject string) string {
		tok, err := signer.Issue(auth.Principal{Role: role, Subject: subject}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// HTTPS with HTTP/2 (ALPN h2).
	a, err := send(plain, "GET", base+"/healthz", "", nil)
	if err != nil || a.status != 200 || a.proto != "HTTP/2.0" {
		t.Fatalf("GET /healthz over HTTPS: %v %+v", err, a)
	}
	// An HTTP/1.1-only client is served too.
	a, err = send(tlsClient(roots, nil, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }), "GET", base+"/healthz", "", nil)
	if err != nil || a.status != 200 || a.proto != "HTTP/1.1" {
		t.Fatalf("HTTP/1.1 over TLS: %v %+v", err, a)
	}
	// Plain HTTP to the TLS port is not served: crypto/tls answers 400
	// and closes.
	resp, err := http.Get("http://" + addr + "/healthz")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "HTTPS") {
			t.Fatalf("plain HTTP to the TLS port: %d %s", resp.StatusCode, b)
		}
	}
	// TLS 1.1 and weak suites are refused.
	for name, adjust := range map[string]func(*tls.Config){
		"TLS 1.1": func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 },
		"RSA key exchange only": func(c *tls.Config) {
			c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_CBC_SHA}
		},
		"CBC suites only": func(c *tls.Config) {
			c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}
		},
	} {
		if a, err := send(tlsClient(roots, nil, adjust), "GET", base+"/healthz", "", nil); err == nil {
			t.Errorf("%s client was served: %+v", name, a)
		}
	}

	// A bank's certificate alone: that bank.
	bnpClient, sgClient := tlsClient(roots, bnp), tlsClient(roots, sg)
	var created struct {
		RequestID   string
		Position    uint64
		Attestation struct{ Number string }
	}
	a, err = send(bnpClient, "POST", base+"/v1/loan-requests", "", requestBody("732829320", 1000000))
	if err != nil || a.status != 201 {
		t.Fatalf("submit with the bank certificate: %v %+v %s", err, a, a.body)
	}
	a.decode(t, &created)
	if created.Attestation.Number == "" {
		t.Fatalf("no attestation: %s", a.body)
	}
	att := fmt.Sprintf("%s/v1/attestations/%s?minPosition=%d", base, created.Attestation.Number, created.Position)
	if a, err := send(bnpClient, "GET", att, "", nil); err != nil || a.status != 200 {
		t.Fatalf("the bank reads its attestation with its certificate: %v %d %s", err, a.status, a.body)
	}
	// Another bank's certificate: that bank's data only (404 as for its token).
	if a, err := send(sgClient, "GET", att, "", nil); err != nil || a.status != 404 {
		t.Fatalf("another bank's certificate reads it: %v %d %s", err, a.status, a.body)
	}
	// The certificate is role bank: no admin route.
	if a, err := send(bnpClient, "POST", base+"/v1/admin/projections/rebuild", "", map[string]any{}); err != nil || a.status != 403 {
		t.Fatalf("admin route with a bank certificate: %v %d %s", err, a.status, a.body)
	}
	// A certificate submitting for another bank is refused as the token would be.
	other := requestBody("552100554", 1000000)
	other["bankCode"] = "30003"
	if a, err := send(bnpClient, "POST", base+"/v1/loan-requests", "", other); err != nil || a.status/100 != 4 {
		t.Fatalf("bank certificate submitting for another bank: %v %d %s", err, a.status, a.body)
	}

	// Certificate and token: they must agree.
	for _, c := range []struct {
		name  string
		token string
		want  int
	}{
		{"the same bank's token", token(domain.RoleBank, "30004"), 200},
		{"another bank's token", token(domain.RoleBank, "30003"), 401},
		{"an auditor's token", token(domain.RoleAuditor, "alice"), 401},
		{"an admin token", token(domain.RoleAdmin, "root"), 401},
		{"a forged token", "eyJhbGciOiJub25lIn0.e30.", 401},
	} {
		if a, err := send(bnpClient, "GET", att, c.token, nil); err != nil || a.status != c.want {
			t.Errorf("bank certificate with %s: %v %d %s, want %d", c.name, err, a.status, a.body, c.want)
		}
	}
	req, _ := http.NewRequest("GET", att, nil)
	req.Header.Set("Authorization", "Basic YWRtaW46YWRtaW4=")
	if resp, err := bnpClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("bank certificate with a Basic header: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	// A verified certificate without one serialNumber bank code: 401.
	if a, err := send(tlsClient(roots, noCode), "GET", att, "", nil); err != nil || a.status != 401 {
		t.Errorf("certificate without a bank code: %v %d %s", err, a.status, a.body)
	}
	// Tokens still work without a certificate; no token, no certificate: 401.
	if a, err := send(plain, "GET", att, token(domain.RoleBank, "30004"), nil); err != nil || a.status != 200 {
		t.Errorf("token over HTTPS: %v %d", err, a.status)
	}
	if a, err := send(plain, "GET", att, "", nil); err != nil || a.status != 401 {
		t.Errorf("neither token nor certificate: %v %d", err, a.status)
	}
	// Refused by the handshake: another CA's, an expired, a revoked certificate.
	for name, cert := range map[string]*testpki.Cert{"another CA's": foreign, "an expired": expired, "a revoked": revoked} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			c := tlsClient(roots, cert, func(c *tls.Config) { c.MaxVersion = v })
			if a, err := send(c, "GET", att, token(domain.RoleBank, "30004"), nil); err == nil {
				t.Errorf("%s certificate (TLS %x) was served: %d %s", name, v, a.status, a.body)
			}
		}
	}
}

// Each weak TLS setting stops `ledger serve` at once, with one line naming
// the file and the fault, before the data dir is even created.
func TestServeRefusesWeakTLS(t *testing.T) {
	pki := t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	goodCert, goodKey := ca.Server(t, testpki.Options{}).Write(t, pki, "good")
	_, otherKey := ca.Server(t, testpki.Options{}).Write(t, pki, "other")
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakCert, weakKey := ca.Server(t, testpki.Options{Key: rsa1024}).Write(t, pki, "weak")
	expCert, expKey := ca.Server(t, testpki.Options{NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}).Write(t, pki, "expired")
	futCert, futKey := ca.Server(t, testpki.Options{NotBefore: time.Now().Add(24 * time.Hour)}).Write(t, pki, "future")
	cliCert, cliKey := ca.Server(t, testpki.Options{EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}).Write(t, pki, "client-only")
	openCert, openKey := ca.Server(t, testpki.Options{}).Write(t, pki, "open")
	if err := os.Chmod(openKey, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"mismatched pair", []string{"--tls-cert", goodCert, "--tls-key", otherKey}, []string{goodCert, "does not match"}},
		{"1024-bit RSA", []string{"--tls-cert", weakCert, "--tls-key", weakKey}, []string{weakCert, "1024-bit RSA key; at least 2048"}},
		{"expired", []string{"--tls-cert", expCert, "--tls-key", expKey}, []string{expCert, "expired on"}},
		{"not yet valid", []string{"--tls-cert", futCert, "--tls-key", futKey}, []string{futCert, "not valid before"}},
		{"no serverAuth", []string{"--tls-cert", cliCert, "--tls-key", cliKey}, []string{cliCert, "without serverAuth"}},
		{"key readable by others", []string{"--tls-cert", openCert, "--tls-key", openKey}, []string{"chmod 600 " + openKey}},
		{"cert without key", []string{"--tls-cert", goodCert}, []string{"--tls-key"}},
		{"client CA that is a server cert", []string{"--tls-cert", goodCert, "--tls-key", goodKey, "--tls-client-ca", goodCert}, []string{goodCert, "not a CA"}},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		_, err := run(t, append([]string{"serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0"}, c.args...)...)
		assertOneLine(t, c.name, err, c.want...)
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the data dir was created before the TLS check: %v", c.name, err)
		}
	}
	// The environment sets them too.
	t.Setenv("LEDGER_TLS_CERT", expCert)
	t.Setenv("LEDGER_TLS_KEY", expKey)
	_, err = run(t, "serve", "--data-dir", filepath.Join(t.TempDir(), "data"), "--http-addr", "127.0.0.1:0")
	assertOneLine(t, "expired certificate from the environment", err, expCert, "expired on")
}

// Without a client CA: the handshake negotiates h2 by ALPN over TLS 1.3.
func TestServeTLSNegotiatesH2(t *testing.T) {
	dir, pki := t.TempDir(), t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	certFile, keyFile := ca.Server(t, testpki.Options{}).Write(t, pki, "server")
	addr := startServe(t, dir, "--tls-cert", certFile, "--tls-key", keyFile)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	if st.NegotiatedProtocol != "h2" || st.Version != tls.VersionTLS13 {
		t.Fatalf("ALPN %q, version %x; want h2 over TLS 1.3", st.NegotiatedProtocol, st.Version)
	}
}

// SIGHUP reloads the certificate while serving; a reload of broken files
// keeps the certificate in use.
func TestServeReloadsTLSOnHangup(t *testing.T) {
	dir, pki := t.TempDir(), t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	first := ca.Server(t, testpki.Options{})
	certFile, keyFile := first.Write(t, pki, "server")
	addr := startServe(t, dir, "--tls-cert", certFile, "--tls-key", keyFile)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	served := func() *x509.Certificate {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}
	hangUpUntil := func(want *x509.Certificate) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			if served().Equal(want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("still serving serial %s, want %s", served().SerialNumber, want.SerialNumber)
			}
		}
	}
	if !served().Equal(first.Cert) {
		t.Fatal("not the first certificate")
	}
	second := ca.Server(t, testpki.Options{})
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	second.Write(t, pki, "server")
	hangUpUntil(second.Cert)
	// An expired certificate is not loaded by a reload either.
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	ca.Server(t, testpki.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}).Write(t, pki, "server")
	_ = syscall.Kill(os.Getpid(), syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if !served().Equal(second.Cert) {
		t.Fatal("an expired certificate replaced the one in use")
	}
}

// A client command reaches an HTTPS server whose CA it trusts through
// SSL_CERT_FILE (docs/API.md, TLS), and refuses it without. The command
// runs in a child process: the system roots are read once per process.
func TestClientCommandTrustsSSLCertFile(t *testing.T) {
	if os.Getenv("LEDGER_TEST_CLIENT_ARGS") != "" {
		_, err := run(t, strings.Split(os.Getenv("LEDGER_TEST_CLIENT_ARGS"), "\x1f")...)
		if err != nil {
			fmt.Fprintln(os.Stderr, "CLIENT ERROR:", err)
			os.Exit(3)
		}
		return
	}
	dir, pki := t.TempDir(), t.TempDir()
	ca := testpki.NewCA(t, "private CA")
	certFile, keyFile := ca.Server(t, testpki.Options{}).Write(t, pki, "server")
	caFile := filepath.Join(pki, "ca.pem")
	testpki.WriteFile(t, caFile, ca.CertPEM())
	addr := startServe(t, dir, "--tls-cert", certFile, "--tls-key", keyFile)
	child := func(sslCertFile string) (string, error) {
		args := []string{"export", "--out", t.TempDir(), "--server", "https://" + addr, "--data-dir", dir}
		cmd := exec.Command(os.Args[0], "-test.run=^TestClientCommandTrustsSSLCertFile$")
		cmd.Env = append(os.Environ(), "LEDGER_TEST_CLIENT_ARGS="+strings.Join(args, "\x1f"), "SSL_CERT_FILE="+sslCertFile, "SSL_CERT_DIR=/nonexistent")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := child(caFile); err != nil {
		t.Fatalf("export over HTTPS trusting the CA: %v\n%s", err, out)
	}
	out, err := child(filepath.Join(pki, "none.pem"))
	if err == nil || !strings.Contains(out, "certificate signed by unknown authority") {
		t.Fatalf("export over HTTPS without trusting the CA: %v\n%s", err, out)
	}
}

// The ledger binary's main exits 1 with one line on stderr on a weak TLS
// setting (main runs in a child process of the test binary).
func TestServeWithWeakTLSExitsNonZero(t *testing.T) {
	if args := os.Getenv("LEDGER_TEST_MAIN_ARGS"); args != "" {
		os.Args = append([]string{"ledger"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	pki := t.TempDir()
	ca := testpki.NewCA(t, "test CA")
	certFile, keyFile := ca.Server(t, testpki.Options{NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}).Write(t, pki, "expired")
	args := []string{"serve", "--data-dir", filepath.Join(t.TempDir(), "data"), "--http-addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeWithWeakTLSExitsNonZero$")
	cmd.Env = append(os.Environ(), "LEDGER_TEST_MAIN_ARGS="+strings.Join(args, "\x1f"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr %s", err, stderr.String())
	}
	line := strings.TrimSuffix(stderr.String(), "\n")
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, "ledger: ") || !strings.Contains(line, certFile+" expired on") {
		t.Fatalf("stderr is not one line naming the file and the fault: %q", stderr.String())
	}
}
