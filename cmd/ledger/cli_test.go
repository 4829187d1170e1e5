package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// run executes the ledger command line in-process and returns its output.
func run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func TestConfigPrecedenceFlagEnvFileDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ledger.yaml")
	if err := os.WriteFile(file, []byte("http-addr: 127.0.0.1:7001\nlog-level: warn\nnats-url: nats://file:4222\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LEDGER_HTTP_ADDR", "127.0.0.1:7002")
	t.Setenv("LEDGER_LOG_LEVEL", "error")
	cmd := &cobra.Command{Use: "x"}
	cmd.Flags().String("config", "", "")
	addSettingFlags(cmd, "data-dir", "http-addr", "nats-url", "log-level")
	if err := cmd.ParseFlags([]string{"--config", file, "--http-addr", "127.0.0.1:7003"}); err != nil {
		t.Fatal(err)
	}
	v, err := loadConfig(cmd)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"http-addr": "127.0.0.1:7003",   // flag beats env and file
		"log-level": "error",            // env beats file
		"nats-url":  "nats://file:4222", // file beats default
		"data-dir":  "./data",           // default
	} {
		if got := v.GetString(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

func TestConfigFileErrorsAreReported(t *testing.T) {
	if _, err := run(t, "token", "issue", "--role", "admin", "--subject", "x", "--config", "/nonexistent/ledger.yaml"); err == nil || !strings.Contains(err.Error(), "read config") {
		t.Fatalf("missing config file: %v", err)
	}
}

func TestTokenIssue(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "token", "issue", "--role", "bank", "--subject", "30004", "--ttl", "10m", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := datadir.New(dir).KeysDir("").LoadTokenKey()
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Verify(strings.TrimSpace(out))
	if err != nil || p.Role != "bank" || p.Subject != "30004" {
		t.Fatalf("token %q: %+v %v", out, p, err)
	}
	for _, args := range [][]string{
		{"token", "issue", "--role", "root", "--subject", "x", "--data-dir", dir},
		{"token", "issue", "--role", "company", "--subject", "123", "--data-dir", dir},
		{"token", "issue", "--role", "admin", "--subject", "x", "--ttl", "soon", "--data-dir", dir},
	} {
		if _, err := run(t, args...); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line", args, err)
		}
	}
}

// The newcomer's tour: serve on embedded defaults, load the demo workload,
// rebuild the read models while serving, export the ledger and verify it
// offline; then tamper with the export and see verify fail.
// startServer runs `ledger serve` on dir in-process on a free port and
// returns its URL and a function that stops it.
func startServer(t *testing.T, dir string, extra ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		cmd := &cobra.Command{Use: "serve"}
		cmd.Flags().String("config", "", "")
		addSettingFlags(cmd, "data-dir", "keys-dir", "replicas", "http-addr", "nats-url", "nats-creds", "nats-listen", "origin",
			"jwks-url", "jwt-issuer", "jwt-audience", "log-level")
		_ = cmd.ParseFlags(append([]string{"--data-dir", dir, "--http-addr", "127.0.0.1:0", "--log-level", "warn"}, extra...))
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
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve stopped with %v", err)
		}
	}
	t.Cleanup(stop)
	return "http://" + addr, stop
}

func TestServeDemoRebuildExportVerify(t *testing.T) {
	dir := t.TempDir()
	server, stop := startServer(t, dir)
	out, err := run(t, "demo", "--server", server, "--data-dir", dir, "--companies", "60", "--concurrency", "8")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	if !strings.Contains(out, "requests by outcome: attested") || strings.Contains(out, "errors:") {
		t.Fatalf("demo output:\n%s", out)
	}
	// The bench commands measure the running server from outside.
	out, err = run(t, "bench", "requests", "--server", server, "--data-dir", dir, "--count", "200", "--clients", "8", "--idempotency-keys")
	if err != nil || !strings.Contains(out, "loan requests: 200 in") || !strings.Contains(out, "projection lag after the last answer") || strings.Contains(out, "errors:") {
		t.Fatalf("bench requests: %v\n%s", err, out)
	}
	out, err = run(t, "bench", "lookups", "--server", server, "--data-dir", dir, "--count", "300", "--clients", "4", "--rate", "2000")
	if err != nil || !strings.Contains(out, "paced at 2000/s: 300 in") || !strings.Contains(out, "latency from when due: p50") || strings.Contains(out, "errors:") {
		t.Fatalf("bench lookups: %v\n%s", err, out)
	}
	if _, err := run(t, "bench", "lookups", "--server", server, "--data-dir", dir, "--clients", "0"); err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("bench with no client: %v, want a one-line error", err)
	}
	if out, err := run(t, "projections", "rebuild", "--server", server, "--data-dir", dir); err != nil || !strings.Contains(out, "rebuilt read models") {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	exp := filepath.Join(t.TempDir(), "export")
	if out, err := run(t, "export", "--out", exp, "--server", server, "--data-dir", dir); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	verify := func() (string, error) {
		return run(t, "verify", "--entries", filepath.Join(exp, "entries.ndjson"), "--checkpoint", filepath.Join(exp, "checkpoint"),
			"--verifier-key", filepath.Join(exp, "verifier-key"))
	}
	if out, err := verify(); err != nil || !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	// Every file the export promises is there, under integrity's names.
	for _, f := range integrity.ExportFiles {
		if fi, err := os.Stat(filepath.Join(exp, f.Name)); err != nil || fi.Size() == 0 {
			t.Errorf("export file %s: %v", f.Name, err)
		}
	}
	entries, err := os.ReadFile(filepath.Join(exp, "entries.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	// One altered byte deep in the log: verify names that very leaf.
	lines := bytes.Split(entries, []byte("\n"))
	bad := len(lines) * 2 / 3
	altered := bytes.Clone(lines[bad])
	altered[len(altered)-2] ^= 0x01
	lines[bad] = altered
	if err := os.WriteFile(filepath.Join(exp, "entries.ndjson"), bytes.Join(lines, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("leaf %d (position %d, line %d) does not match", bad, bad+1, bad+1)
	if _, err := verify(); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("verify of an altered entry: %v, want %q", err, want)
	}
	lines = bytes.Split(entries, []byte("\n"))
	lines[3], lines[4] = lines[4], lines[3] // swap two entries
	if err := os.WriteFile(filepath.Join(exp, "entries.ndjson"), bytes.Join(lines, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(); err == nil || !strings.Contains(err.Error(), "line 4 ") {
		t.Fatalf("verify of swapped entries: %v", err)
	}
	// With every checkpoint, too, the tampering is found.
	if _, err := run(t, "verify", "--entries", filepath.Join(exp, "entries.ndjson"), "--checkpoint", filepath.Join(exp, "checkpoints"),
		"--verifier-key", filepath.Join(exp, "verifier-key")); err == nil || !strings.Contains(err.Error(), "leaf") {
		t.Fatalf("verify against all checkpoints: %v", err)
	}
	stop()
	// With the service stopped, the read models are rebuilt offline.
	out, err = run(t, "projections", "rebuild", "--offline", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "rebuilt read models") || !strings.Contains(out, " 0 dead letters") {
		t.Fatalf("offline rebuild: %v\n%s", err, out)
	}
}
