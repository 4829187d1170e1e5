package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The paths are those data dirs were laid out with before this package:
// changing one would orphan existing data.
func TestLayoutKeepsTheOnDiskPaths(t *testing.T) {
	l := New("/srv/ledger")
	k := l.KeysDir("")
	for got, want := range map[string]string{
		l.Root: "/srv/ledger", l.Store: "/srv/ledger/jetstream", l.ReadModels: "/srv/ledger/readmodels",
		l.Ledger: "/srv/ledger/ledger", l.Keys: "/srv/ledger/keys", l.LegacyTokenKey: "/srv/ledger/jwt-ed25519.pem",
		k.Dir: "/srv/ledger/keys", k.TokenKey: "/srv/ledger/keys/jwt-ed25519.pem",
		k.CheckpointSigner: "/srv/ledger/keys/checkpoint-signer.key", k.CheckpointVerifier: "/srv/ledger/keys/checkpoint-verifier.key",
		k.Provenance: "/srv/ledger/keys/provenance-hmac.key", k.NATSLedger: "/srv/ledger/keys/nats-ledger.nk",
		k.NATSAuditor:                          "/srv/ledger/keys/nats-auditor.nk",
		l.KeysDir("/etc/ledger/keys").TokenKey: "/etc/ledger/keys/jwt-ed25519.pem",
	} {
		if got != want {
			t.Errorf("path %q, want %q", got, want)
		}
	}
}

func TestMustExist(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	if err := New(root).MustExist(); !errors.Is(err, ErrNoDataDir) {
		t.Fatalf("MustExist on nothing = %v", err)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the data dir was created: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := New(file).MustExist(); !errors.Is(err, ErrNoDataDir) {
		t.Fatalf("MustExist on a file = %v", err)
	}
}
