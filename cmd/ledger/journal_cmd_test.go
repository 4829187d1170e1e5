package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/integrity"
)

// `ledger journal verify` accepts an export of the service's journal with
// the journal's verifier key, and refuses it with the ledger's key or
// once an entry is altered.
func TestJournalVerifyCommand(t *testing.T) {
	a, err := app.Start(t.Context(), app.Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if cp, ok := a.Journal.Tree().Latest(); ok && cp.Size >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no journal checkpoint")
		}
		time.Sleep(20 * time.Millisecond)
	}
	dir := t.TempDir()
	if _, err := a.Journal.Export(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "journal", "verify", "--dir", dir, "--verifier-key", a.Journal.Tree().VerifierKey())
	if err != nil || !strings.HasPrefix(out, "OK: the journal of origin attestation-ledger/journal has ") {
		t.Fatalf("verify: %q, %v", out, err)
	}
	if _, err := run(t, "journal", "verify", "--dir", dir, "--verifier-key", a.Ledger.VerifierKey()); err == nil {
		t.Fatal("a journal export verifies with the ledger's key")
	}
	path := filepath.Join(dir, integrity.ExportEntriesFile)
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), `"service.start"`, `"service.stop"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "journal", "verify", "--dir", dir, "--verifier-key", a.Journal.Tree().VerifierKey()); err == nil || !strings.Contains(err.Error(), "altered") {
		t.Fatalf("an altered entry: %v", err)
	}
}
