package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// runSplit runs the command line and returns its stdout and stderr apart.
func runSplit(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// keys init creates every key, 0600 in a 0700 dir, and prints the
// verifier keys; run again it changes no byte and prints the same.
func TestKeysInitCreatesMissingKeysOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	out, stderr, err := runSplit(t, "keys", "init", "--keys-dir", dir, "--origin", "example.org/ledger")
	if err != nil {
		t.Fatal(err)
	}
	k := datadir.NewKeys(dir)
	secrets := []string{k.TokenKey, k.CheckpointSigner, k.Provenance, k.NATSLedger, k.NATSAuditor}
	for _, f := range secrets {
		if !strings.Contains(stderr, "created "+f) {
			t.Errorf("stderr does not list %s: %q", f, stderr)
		}
	}
	for _, want := range []string{"checkpoint verifier key: example.org/ledger+", "NATS ledger user: U", "NATS auditor user: U",
		"token public key:\n-----BEGIN PUBLIC KEY-----\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("stdout %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "PRIVATE") {
		t.Fatalf("stdout shows a private key: %q", out)
	}
	for _, f := range []string{k.NATSLedger, k.NATSAuditor, k.Provenance} {
		// (a bare "SU" could be in a base64 public key by chance: look
		// for the secrets themselves)
		secret, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range strings.Fields(string(secret)) {
			if len(field) > 16 && strings.Contains(out, field) {
				t.Fatalf("stdout shows the secret of %s", f)
			}
		}
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("keys dir mode %v", di.Mode().Perm())
	}
	before := map[string][]byte{}
	for _, f := range append(secrets, k.CheckpointVerifier) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if f != k.CheckpointVerifier && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", f, fi.Mode().Perm())
		}
		before[f], _ = os.ReadFile(f)
	}
	again, stderr, err := runSplit(t, "keys", "init", "--keys-dir", dir, "--origin", "example.org/ledger")
	if err != nil || again != out || !strings.Contains(stderr, "none created") {
		t.Fatalf("second init: %v\n%q\n%q", err, again, stderr)
	}
	for f, b := range before {
		if now, _ := os.ReadFile(f); !bytes.Equal(now, b) {
			t.Errorf("%s changed", f)
		}
	}
	// The verifier key printed is the one the checkpoints verify with.
	vkey, _, err := integrity.InitKey(dir, "example.org/ledger")
	if err != nil || !strings.Contains(out, "checkpoint verifier key: "+vkey+"\n") {
		t.Fatalf("printed verifier key is not the key's %q (%v)", vkey, err)
	}
}

// A deployment's instances share a keys dir: tokens minted from it with
// no data dir at all are accepted by a server started with it.
func TestServeAndClientsUseTheKeysDir(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	if _, err := run(t, "keys", "init", "--keys-dir", keys); err != nil {
		t.Fatal(err)
	}
	server, _ := startServer(t, t.TempDir(), "--keys-dir", keys)
	nowhere := filepath.Join(t.TempDir(), "no-data-dir")
	exp := t.TempDir()
	if _, err := run(t, "export", "--out", exp, "--server", server, "--keys-dir", keys, "--data-dir", nowhere); err != nil {
		t.Fatalf("export with a token from the keys dir: %v", err)
	}
	got, _ := os.ReadFile(filepath.Join(exp, integrity.ExportVerifierKeyFile))
	want, _ := os.ReadFile(datadir.NewKeys(keys).CheckpointVerifier)
	if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
		t.Fatalf("the server signs with %q, the keys dir has %q", got, want)
	}
	tok, err := run(t, "token", "issue", "--role", "auditor", "--subject", "alice", "--keys-dir", keys, "--data-dir", nowhere)
	if err != nil {
		t.Fatal(err)
	}
	s, err := datadir.NewKeys(keys).LoadTokenKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(strings.TrimSpace(tok)); err != nil {
		t.Fatalf("token issue did not use the keys dir's key: %v", err)
	}
	if _, err := os.Stat(nowhere); !os.IsNotExist(err) {
		t.Fatal("a data dir was created")
	}
	// A --keys-dir that does not exist is not created by a reading command.
	missing := filepath.Join(t.TempDir(), "missing")
	_, err = run(t, "token", "issue", "--role", "auditor", "--subject", "alice", "--keys-dir", missing)
	assertOneLine(t, "token issue with a missing keys dir", err, "keys dir", "does not exist", "ledger keys init")
}

// Every command that loads a key refuses one that group or others can
// read, naming the file and the chmod to run.
func TestCommandsRefuseExposedKeys(t *testing.T) {
	dir := t.TempDir()
	k := datadir.New(dir).KeysDir("")
	if _, err := run(t, "keys", "init", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(k.TokenKey, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"token", "issue", "--role", "admin", "--subject", "x"},
		{"keys", "init"},
		{"serve", "--http-addr", "127.0.0.1:0"},
		{"export", "--out", t.TempDir(), "--server", "http://127.0.0.1:1"},
	} {
		_, err := run(t, append(args, "--data-dir", dir)...)
		assertOneLine(t, strings.Join(args, " "), err, k.TokenKey, "chmod 600 "+k.TokenKey)
	}
	_ = os.Chmod(k.TokenKey, 0o600)
	_ = os.Chmod(k.NATSLedger, 0o640)
	_, err := run(t, "serve", "--http-addr", "127.0.0.1:0", "--data-dir", dir)
	assertOneLine(t, "serve with an exposed NATS seed", err, "chmod 600 "+k.NATSLedger)
}

// A data dir made before the keys dir (its token key at the root) keeps
// working: its key moves into the keys dir, the same key.
func TestOldDataDirTokenKeyMoves(t *testing.T) {
	dir := t.TempDir()
	old, err := auth.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := run(t, "token", "issue", "--role", "admin", "--subject", "x", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Verify(strings.TrimSpace(tok)); err != nil {
		t.Fatalf("the token is not signed by the old key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, auth.KeyFile)); !os.IsNotExist(err) {
		t.Fatal("the old key was not moved")
	}
}

func TestReplicasAndKeysDirConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ledger.yaml")
	if err := os.WriteFile(file, []byte("keys-dir: /etc/ledger/keys\nreplicas: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := func(_ *testing.T, args ...string) (*cobra.Command, error) {
		c := newServeCommand()
		c.Flags().String("config", "", "")
		return c, c.ParseFlags(args)
	}
	c, _ := config(t, "--config", file)
	v, err := loadConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := appConfig(v, nil)
	if err != nil || cfg.Replicas != 3 || cfg.KeysDir != "/etc/ledger/keys" {
		t.Fatalf("from ledger.yaml: %+v, %v", cfg, err)
	}
	t.Setenv("LEDGER_REPLICAS", "5")
	t.Setenv("LEDGER_KEYS_DIR", "/run/keys")
	c, _ = config(t, "--config", file)
	v, _ = loadConfig(c)
	if cfg, err := appConfig(v, nil); err != nil || cfg.Replicas != 5 || cfg.KeysDir != "/run/keys" {
		t.Fatalf("from the environment: %+v, %v", cfg, err)
	}
	c, _ = config(t, "--replicas", "2", "--keys-dir", "/k")
	v, _ = loadConfig(c)
	if cfg, err := appConfig(v, nil); err != nil || cfg.Replicas != 2 || cfg.KeysDir != "/k" {
		t.Fatalf("from flags: %+v, %v", cfg, err)
	}
	t.Setenv("LEDGER_REPLICAS", "")
	c, _ = config(t)
	v, _ = loadConfig(c)
	if cfg, err := appConfig(v, nil); err != nil || cfg.Replicas != 1 {
		t.Fatalf("default: %+v, %v", cfg, err)
	}
	for _, bad := range []string{"0", "three", "-1"} {
		c, _ = config(t, "--replicas", bad)
		v, _ = loadConfig(c)
		if _, err := appConfig(v, nil); err == nil {
			t.Errorf("replicas %q accepted", bad)
		}
	}
	// The embedded server is one server: more replicas need a cluster.
	_, err = run(t, "serve", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--replicas", "3")
	assertOneLine(t, "serve --replicas 3 embedded", err, "Replicas 3")
}
