package integrity

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A second log signing with the deployment's key under its own origin (the
// security journal) has its own verifier key, of the same Ed25519 key, and
// its checkpoints do not verify as the ledger's.
func TestKeyNameSignsUnderAnotherOrigin(t *testing.T) {
	ctx := context.Background()
	keys := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ledger, err := Open(ctx, Config{Dir: t.TempDir(), KeyDir: keys, Origin: "example.org/ledger", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	j, err := Open(ctx, Config{Dir: t.TempDir(), KeyDir: keys, Origin: "example.org/ledger/journal", KeyName: "example.org/ledger", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.VerifierKey() == ledger.VerifierKey() || !strings.HasPrefix(j.VerifierKey(), "example.org/ledger/journal+") {
		t.Fatalf("journal verifier key %q, ledger's %q", j.VerifierKey(), ledger.VerifierKey())
	}
	// Same Ed25519 public key (the last field), different name and hash.
	if a, b := j.VerifierKey()[strings.LastIndex(j.VerifierKey(), "+"):], ledger.VerifierKey()[strings.LastIndex(ledger.VerifierKey(), "+"):]; a != b {
		t.Fatalf("journal key %s is not the ledger's %s", a, b)
	}
	leaves := []tlog.Hash{LeafHash([]byte("a")), LeafHash([]byte("b")), LeafHash([]byte("c"))}
	if _, err := j.AppendHashes(ctx, 1, leaves...); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("append at 1 of an empty tree: %v, want ErrOutOfOrder", err)
	}
	if n, err := j.AppendHashes(ctx, 0, leaves...); err != nil || n != 3 {
		t.Fatalf("append: %d, %v", n, err)
	}
	got, err := j.LeafHashes(1, 3)
	if err != nil || len(got) != 2 || got[0] != leaves[1] || got[1] != leaves[2] {
		t.Fatalf("leaf hashes 1-3: %v, %v", got, err)
	}
	if _, err := j.LeafHashes(0, 4); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("leaf hashes past the tree: %v", err)
	}
	cp, err := j.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(cp.Note, j.VerifierKey()); err != nil {
		t.Fatalf("journal checkpoint with its key: %v", err)
	}
	if _, err := OpenCheckpoint(cp.Note, ledger.VerifierKey()); err == nil {
		t.Fatal("a journal checkpoint verifies with the ledger's key")
	}
	v, _ := note.NewVerifier(j.VerifierKey())
	if _, err := note.Open(cp.Note, note.VerifierList(v)); err != nil {
		t.Fatalf("note.Open: %v", err)
	}
}
