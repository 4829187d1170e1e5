package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// getAs calls the server with a token and returns the status and body.
func getAs(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// `ledger serve` keeps its data private: a data dir made 0755 (mkdir with
// the usual umask) is narrowed to 0700, and every file of the read models
// and of the verifiable log is 0600 (they were 0644 in 0755 directories:
// another user read company names out of SQLite).
func TestServeKeepsTheDataDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// What an older version left: a world-readable read-model file.
	if err := os.MkdirAll(filepath.Join(dir, "readmodels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "readmodels", "old.db"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Whatever the umask (serve narrows it for the process).
	for path, mode := range map[string]os.FileMode{dir: 0o755, filepath.Join(dir, "readmodels"): 0o755, filepath.Join(dir, "readmodels", "old.db"): 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	server, stop := startServer(t, dir)
	if out, err := run(t, "demo", "--server", server, "--data-dir", dir, "--companies", "5", "--concurrency", "2"); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	stop()
	l := datadir.New(dir)
	checked := 0
	for _, root := range []string{l.Root, l.ReadModels, l.Ledger, l.Store} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if fi.Mode().Perm()&0o077 != 0 && fi.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("%s has mode %04o", path, fi.Mode().Perm())
			}
			checked++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d files checked", checked)
	}
}

// A token key readable by others is refused by every command that reads
// it; an admin token beyond the admin's maximum lifetime is not issued.
func TestTokenIssueRefusesAnExposedKeyAndTooLongALifetime(t *testing.T) {
	dir := t.TempDir()
	if out, err := run(t, "token", "issue", "--role", "bank", "--subject", "30004", "--data-dir", dir); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if _, err := run(t, "token", "issue", "--role", "admin", "--subject", "x", "--ttl", "2h", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "maximum lifetime") {
		t.Fatalf("a 2 h admin token: %v", err)
	}
	if _, err := run(t, "token", "issue", "--role", "admin", "--subject", "x", "--ttl", "2h", "--token-lifetimes", "admin=3h", "--data-dir", dir); err != nil {
		t.Fatalf("a 2 h admin token with admin=3h: %v", err)
	}
	key := filepath.Join(dir, "keys", auth.KeyFile)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"token", "issue", "--role", "bank", "--subject", "30004", "--data-dir", dir},
		{"token", "revoke", "--jti", "x", "--data-dir", dir, "--server", "http://127.0.0.1:1"},
	} {
		if _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("%v with a 0644 key: %v", args, err)
		}
	}
}

// `ledger serve` refuses an external issuer without an audience, or whose
// key set is fetched in clear text from another host.
func TestServeRefusesAnUnsafeJWKSConfiguration(t *testing.T) {
	for _, args := range [][]string{
		{"--jwks-url", "https://idp.example/jwks", "--jwt-issuer", "https://idp.example"},
		{"--jwks-url", "http://idp.example/jwks", "--jwt-issuer", "https://idp.example", "--jwt-audience", "ledger"},
	} {
		_, err := run(t, append([]string{"serve", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "jwks") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// `ledger token revoke` revokes a token by id (--jti) or by the token
// itself (--of): the server refuses it at once, and the auditor's list
// shows it.
func TestTokenRevokeCommand(t *testing.T) {
	dir := t.TempDir()
	server, _ := startServer(t, dir)
	signer, err := datadir.New(dir).KeysDir("").LoadTokenKey()
	if err != nil {
		t.Fatal(err)
	}
	a, jtiA, _ := signer.IssueID(auth.Principal{Role: domain.RoleAuditor, Subject: "a"}, time.Hour)
	b, _ := signer.Issue(auth.Principal{Role: domain.RoleAuditor, Subject: "b"}, time.Hour)
	reader, _ := signer.Issue(auth.Principal{Role: domain.RoleAuditor, Subject: "reader"}, time.Hour)
	for _, tok := range []string{a, b} {
		if code, body := getAs(t, server+"/v1/events", tok); code != 200 {
			t.Fatalf("before: %d %s", code, body)
		}
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	if out, err := run(t, "token", "revoke", "--jti", jtiA, "--until", until, "--reason", "left the company", "--server", server, "--data-dir", dir); err != nil || !strings.Contains(out, "revoked "+jtiA) {
		t.Fatalf("revoke --jti: %v %s", err, out)
	}
	if out, err := run(t, "token", "revoke", "--of", b, "--server", server, "--data-dir", dir); err != nil {
		t.Fatalf("revoke --of: %v %s", err, out)
	}
	for _, tok := range []string{a, b} {
		if code, _ := getAs(t, server+"/v1/events", tok); code != 401 {
			t.Fatalf("after the revocation: %d", code)
		}
	}
	code, body := getAs(t, server+"/v1/revocations", reader)
	var list struct{ Items []auth.Revocation }
	if err := json.Unmarshal(body, &list); err != nil || code != 200 || len(list.Items) != 2 || list.Items[0].JTI != jtiA ||
		list.Items[0].Until.UTC().Format(time.RFC3339) != until || list.Items[0].Reason != "left the company" {
		t.Fatalf("list: %d %s", code, body)
	}
	if _, err := run(t, "token", "revoke", "--server", server, "--data-dir", dir); err == nil {
		t.Fatal("a revocation of nothing")
	}
}
