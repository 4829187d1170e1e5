package integrity

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
)

func TestInitKeyNeverOverwrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	vkey, created, err := InitKey(dir, "example.org/ledger")
	if err != nil || !created {
		t.Fatalf("first InitKey: created %v, %v", created, err)
	}
	skey, _ := os.ReadFile(filepath.Join(dir, SignerKeyFile))
	again, created, err := InitKey(dir, "example.org/ledger")
	if err != nil || created || again != vkey {
		t.Fatalf("second InitKey = %q, created %v, %v; want %q", again, created, err, vkey)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, SignerKeyFile)); !bytes.Equal(now, skey) {
		t.Fatal("the signer key was rewritten")
	}
	// The verifier key file is derived again from the signer key.
	if err := os.Remove(filepath.Join(dir, VerifierKeyFile)); err != nil {
		t.Fatal(err)
	}
	if derived, _, err := InitKey(dir, "example.org/ledger"); err != nil || derived != vkey {
		t.Fatalf("derived verifier key %q, %v; want %q", derived, err, vkey)
	}
	if _, _, err := InitKey(dir, "other"); err == nil {
		t.Fatal("InitKey accepted a key named after another origin")
	}
	if err := os.Chmod(filepath.Join(dir, SignerKeyFile), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := InitKey(dir, "example.org/ledger"); !errors.Is(err, keyfile.ErrExposed) {
		t.Fatalf("0640 signer key: %v", err)
	}
}
