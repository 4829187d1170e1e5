package datadir

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
)

func (k Keys) secrets() []string {
	return []string{k.TokenKey, k.CheckpointSigner, k.Provenance, k.NATSLedger, k.NATSAuditor}
}

// keys init creates every missing key, 0600 in a 0700 dir; run again it
// changes no byte of any key and prints the same verifier keys.
func TestInitCreatesMissingKeysAndNeverOverwrites(t *testing.T) {
	k := NewKeys(filepath.Join(t.TempDir(), "keys"))
	created, v, err := k.Init("example.org/ledger")
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 5 {
		t.Fatalf("created %v, want the 5 secret keys", created)
	}
	if di, _ := os.Stat(k.Dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("keys dir mode %v", di.Mode().Perm())
	}
	before := map[string][]byte{}
	for _, f := range append(k.secrets(), k.CheckpointVerifier) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if f != k.CheckpointVerifier && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
		before[f], _ = os.ReadFile(f)
	}
	if !strings.HasPrefix(v.CheckpointVerifierKey, "example.org/ledger+") || !strings.Contains(v.TokenPublicKeyPEM, "PUBLIC KEY") ||
		!strings.HasPrefix(v.NATSLedgerPublicKey, "U") || !strings.HasPrefix(v.NATSAuditorPublicKey, "U") || v.NATSLedgerPublicKey == v.NATSAuditorPublicKey {
		t.Fatalf("verifiers %+v", v)
	}
	// One key missing: only it is created, the others keep every byte.
	if err := os.Remove(k.Provenance); err != nil {
		t.Fatal(err)
	}
	created, v2, err := k.Init("example.org/ledger")
	if err != nil || len(created) != 1 || created[0] != k.Provenance {
		t.Fatalf("second Init created %v, %v", created, err)
	}
	if v2 != v {
		t.Fatalf("verifiers changed: %+v, want %+v", v2, v)
	}
	for f, b := range before {
		now, _ := os.ReadFile(f)
		if f != k.Provenance && !bytes.Equal(now, b) {
			t.Errorf("%s was rewritten", f)
		}
	}
	if created, _, err := k.Init("example.org/ledger"); err != nil || len(created) != 0 {
		t.Fatalf("third Init created %v, %v", created, err)
	}
}

// Every command loading a key refuses one that group or others can read.
func TestInitRefusesExposedKeys(t *testing.T) {
	k := NewKeys(t.TempDir())
	if _, _, err := k.Init(""); err != nil {
		t.Fatal(err)
	}
	for _, f := range k.secrets() {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := k.Init("")
		if !errors.Is(err, keyfile.ErrExposed) || !strings.Contains(err.Error(), "chmod 600 "+f) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("%s at 0644: %v", f, err)
		}
		if err := os.Chmod(f, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.Chmod(k.Provenance, 0o604)
	if _, _, err := k.LoadProvenanceKey(); !errors.Is(err, keyfile.ErrExposed) {
		t.Fatalf("LoadProvenanceKey at 0604: %v", err)
	}
	_ = os.Chmod(k.NATSAuditor, 0o640)
	if _, _, err := LoadNATSSeed(k.NATSAuditor); !errors.Is(err, keyfile.ErrExposed) {
		t.Fatalf("LoadNATSSeed at 0640: %v", err)
	}
}

func TestLoadProvenanceKey(t *testing.T) {
	k := NewKeys(t.TempDir())
	if _, _, err := k.LoadProvenanceKey(); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), k.Provenance) {
		t.Fatalf("no key: %v", err)
	}
	if _, _, err := k.Init(""); err != nil {
		t.Fatal(err)
	}
	id, key, err := k.LoadProvenanceKey()
	if err != nil || len(id) != 16 || len(key) != ProvenanceKeySize || bytes.Equal(key, make([]byte, ProvenanceKeySize)) {
		t.Fatalf("LoadProvenanceKey = %q, %x, %v", id, key, err)
	}
	other := NewKeys(t.TempDir())
	if _, _, err := other.Init(""); err != nil {
		t.Fatal(err)
	}
	if id2, key2, _ := other.LoadProvenanceKey(); id2 == id || bytes.Equal(key2, key) {
		t.Fatal("two keys dirs have the same provenance key")
	}
	if err := os.WriteFile(k.Provenance, []byte("abc c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.LoadProvenanceKey(); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
}

// A data dir made before the keys dir has its token key at its root: it
// is moved into the keys dir, and tokens it signed stay valid.
func TestMoveLegacyTokenKey(t *testing.T) {
	root := t.TempDir()
	l := New(root)
	old, err := auth.LoadOrCreateKey(root) // where the key used to be
	if err != nil {
		t.Fatal(err)
	}
	oldBytes, _ := os.ReadFile(l.LegacyTokenKey)
	tok, _ := old.Issue(auth.Principal{Role: "admin", Subject: "x"}, time.Hour)
	k := l.KeysDir("")
	moved, leftover, err := l.MoveLegacyTokenKey(k)
	if err != nil || !moved || leftover != "" {
		t.Fatalf("MoveLegacyTokenKey = %v, %q, %v", moved, leftover, err)
	}
	if _, err := os.Stat(l.LegacyTokenKey); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the old key is still there: %v", err)
	}
	if b, _ := os.ReadFile(k.TokenKey); !bytes.Equal(b, oldBytes) {
		t.Fatal("the moved key differs")
	}
	s, err := k.LoadTokenKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("a token of the old key is refused: %v", err)
	}
	// Nothing left to move: nothing happens.
	if moved, leftover, err := l.MoveLegacyTokenKey(k); moved || leftover != "" || err != nil {
		t.Fatalf("second move = %v, %q, %v", moved, leftover, err)
	}
	// A crash after the copy, before the removal: the copy is the same,
	// the old file goes.
	if err := os.WriteFile(l.LegacyTokenKey, oldBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if moved, leftover, err := l.MoveLegacyTokenKey(k); moved || leftover != "" || err != nil {
		t.Fatalf("after a crash = %v, %q, %v", moved, leftover, err)
	}
	if _, err := os.Stat(l.LegacyTokenKey); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the old copy was not removed")
	}
	// A shared keys dir with another key: it wins, the old file stays.
	shared := NewKeys(t.TempDir())
	if _, err := auth.LoadOrCreateKeyFile(shared.TokenKey); err != nil {
		t.Fatal(err)
	}
	sharedBytes, _ := os.ReadFile(shared.TokenKey)
	if err := os.WriteFile(l.LegacyTokenKey, oldBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if moved, leftover, err := l.MoveLegacyTokenKey(shared); moved || leftover != l.LegacyTokenKey || err != nil {
		t.Fatalf("into a shared dir = %v, %q, %v", moved, leftover, err)
	}
	if b, _ := os.ReadFile(shared.TokenKey); !bytes.Equal(b, sharedBytes) {
		t.Fatal("the shared key was overwritten")
	}
	// An exposed old key is refused, not moved.
	_ = os.Chmod(l.LegacyTokenKey, 0o644)
	if _, _, err := l.MoveLegacyTokenKey(NewKeys(t.TempDir())); !errors.Is(err, keyfile.ErrExposed) {
		t.Fatalf("exposed old key: %v", err)
	}
}

func TestLoadTokenKeyCreatesNothing(t *testing.T) {
	k := NewKeys(filepath.Join(t.TempDir(), "keys"))
	if _, err := k.LoadTokenKey(); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), k.TokenKey) {
		t.Fatalf("LoadTokenKey = %v", err)
	}
	if err := k.MustExist(); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "ledger keys init") {
		t.Fatalf("MustExist = %v", err)
	}
	if _, err := os.Stat(k.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the keys dir was created")
	}
}

// Instances starting at once on a fresh shared keys dir agree on one set
// of keys: each key is created by exactly one of them.
func TestConcurrentInitAgrees(t *testing.T) {
	k := NewKeys(filepath.Join(t.TempDir(), "keys"))
	const n = 8
	var wg sync.WaitGroup
	results := make([]Verifiers, n)
	created := make([][]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { created[i], results[i], errs[i] = k.Init("") })
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if results[i] != results[0] {
			t.Fatalf("instance %d got other keys: %+v vs %+v", i, results[i], results[0])
		}
		total += len(created[i])
	}
	if total != 5 {
		t.Fatalf("%d keys reported created, want each of the 5 once", total)
	}
}
