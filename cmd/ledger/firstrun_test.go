package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// oneLine fails unless err is a one-line error holding every want.
func assertOneLine(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Fatalf("%s: error on several lines: %q", what, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Fatalf("%s: error %q does not say %q", what, msg, w)
		}
	}
}

// A client command run with another data dir than the server's, or with
// no server, exits non-zero at once with one line that says why.
func TestClientCommandsFailWithOneLine(t *testing.T) {
	dir := t.TempDir()
	server, _ := startServer(t, dir)
	other := t.TempDir()
	if _, err := run(t, "token", "issue", "--role", "admin", "--subject", "x", "--data-dir", other); err != nil {
		t.Fatal(err) // another key, in another data dir
	}
	abs, _ := filepath.Abs(other)
	for _, args := range [][]string{
		{"demo", "--companies", "5"},
		{"bench", "requests", "--count", "5"},
		{"bench", "lookups", "--count", "5"},
		{"export", "--out", filepath.Join(t.TempDir(), "x")},
		{"projections", "rebuild"},
	} {
		_, err := run(t, append(args, "--server", server, "--data-dir", other)...)
		assertOneLine(t, strings.Join(args, " ")+" with another key", err,
			"401 from "+server, "the token minted from the key in "+abs, "another --data-dir")
	}
	// A token given with --token that the server refuses.
	_, err := run(t, "export", "--out", filepath.Join(t.TempDir(), "x"), "--server", server, "--data-dir", dir, "--token", "not-a-token")
	assertOneLine(t, "export --token", err, "401 from "+server, "--token")

	// No server listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	for _, args := range [][]string{{"demo", "--companies", "5"}, {"bench", "lookups"}, {"export", "--out", t.TempDir()}} {
		_, err := run(t, append(args, "--server", down, "--data-dir", dir)...)
		assertOneLine(t, args[0]+" with no server", err, "is `ledger serve` running at "+down)
	}
}

// Commands that only read a data dir never create one; token issue
// creates the key in an existing data dir only.
func TestReadingCommandsNeverCreateADataDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "data")
	abs, _ := filepath.Abs(missing)
	for _, args := range [][]string{
		{"demo", "--server", "http://127.0.0.1:1"},
		{"bench", "lookups", "--server", "http://127.0.0.1:1"},
		{"export", "--out", filepath.Join(t.TempDir(), "x"), "--server", "http://127.0.0.1:1"},
		{"projections", "rebuild", "--server", "http://127.0.0.1:1"},
		{"projections", "rebuild", "--offline"},
		{"token", "issue", "--role", "admin", "--subject", "x"},
	} {
		_, err := run(t, append(args, "--data-dir", missing)...)
		assertOneLine(t, strings.Join(args, " "), err, abs, "does not exist")
		if !errors.Is(err, datadir.ErrNoDataDir) {
			t.Errorf("%v: %v does not match ErrNoDataDir", args, err)
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v created the data dir", args)
		}
	}
	// An existing data dir without a server's files: the offline rebuild
	// opens no store, token issue creates the key as documented.
	if err := os.Mkdir(missing, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, "projections", "rebuild", "--offline", "--data-dir", missing)
	assertOneLine(t, "rebuild --offline in an empty data dir", err, "no event store")
	if _, err := os.Stat(filepath.Join(missing, "jetstream")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the offline rebuild created an event store")
	}
	if _, err := run(t, "token", "issue", "--role", "admin", "--subject", "x", "--data-dir", missing); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(datadir.New(missing).KeysDir("").TokenKey); err != nil {
		t.Fatalf("token issue did not create the key: %v", err)
	}
}

func TestVersionPrintsVersionCommitAndDate(t *testing.T) {
	out, err := run(t, "version")
	if err != nil || !regexp.MustCompile(`^ledger \S+ \(commit \S+, built \S+\)\n$`).MatchString(out) || !strings.Contains(out, version) {
		t.Fatalf("%q %v", out, err)
	}
	defer func(c, d string) { commit, date = c, d }(commit, date)
	commit, date = "abc1234", "2026-11-29T10:00:00Z"
	if out, _ := run(t, "version"); out != "ledger "+version+" (commit abc1234, built 2026-11-29T10:00:00Z)\n" {
		t.Fatalf("with -X: %q", out)
	}
}

func TestUnknownConfigKeyIsAnError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ledger.yaml")
	if err := os.WriteFile(file, []byte("data-dir: "+dir+"\nhttp-adr: 127.0.0.1:7001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, "token", "issue", "--role", "admin", "--subject", "x", "--config", file)
	assertOneLine(t, "misspelt key", err, `unknown key "http-adr"`, file)
	// Keys of other commands' flags are fine (one ledger.yaml serves all).
	if err := os.WriteFile(file, []byte("data-dir: "+dir+"\ncompanies: 10\nserver: http://x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "token", "issue", "--role", "admin", "--subject", "x", "--config", file); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("nested:\n  data-dir: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, "token", "issue", "--role", "admin", "--subject", "x", "--config", file)
	assertOneLine(t, "nested key", err, `unknown key "nested.data-dir"`)
}

// Each demo run asks for new companies unless given a seed, and says
// which seed it used.
func TestDemoSeedIsFreshUnlessGiven(t *testing.T) {
	dir := t.TempDir()
	server, _ := startServer(t, dir)
	seedOf := func(args ...string) string {
		t.Helper()
		out, err := run(t, append([]string{"demo", "--server", server, "--data-dir", dir, "--companies", "3", "--concurrency", "2"}, args...)...)
		if err != nil {
			t.Fatalf("demo: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`(?m)^seed: (\d+) \(--seed (\d+) repeats these companies\)$`).FindStringSubmatch(out)
		if m == nil || m[1] != m[2] {
			t.Fatalf("no seed printed:\n%s", out)
		}
		return m[1]
	}
	a, b := seedOf(), seedOf()
	if a == b {
		t.Fatalf("two runs used the same seed %s", a)
	}
	if got := seedOf("--seed", "42"); got != "42" {
		t.Fatalf("--seed 42 ran with %s", got)
	}
}

func TestExportHelpDocumentsEveryFile(t *testing.T) {
	out, err := run(t, "export", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range integrity.ExportFiles {
		if !strings.Contains(out, f.Name+" ") || !strings.Contains(out, f.Holds) {
			t.Errorf("export --help does not document %s:\n%s", f.Name, out)
		}
	}
}
