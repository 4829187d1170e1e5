package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/auth"
)

// The paths are those data dirs were laid out with before this package:
// changing one would orphan existing data.
func TestLayoutKeepsTheOnDiskPaths(t *testing.T) {
	l := New("/srv/ledger")
	for got, want := range map[string]string{
		l.Root: "/srv/ledger", l.Store: "/srv/ledger/jetstream", l.ReadModels: "/srv/ledger/readmodels",
		l.Ledger: "/srv/ledger/ledger", l.Keys: "/srv/ledger/keys", l.TokenKeyDir: "/srv/ledger",
		l.TokenKey: "/srv/ledger/jwt-ed25519.pem",
	} {
		if got != want {
			t.Errorf("path %q, want %q", got, want)
		}
	}
}

func TestReadingAMissingDataDirCreatesNothing(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	l := New(root)
	_, err := l.LoadTokenKey()
	if !errors.Is(err, ErrNoDataDir) || !strings.Contains(err.Error(), root) {
		t.Fatalf("LoadTokenKey = %v, want ErrNoDataDir naming %s", err, root)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the data dir was created: %v", err)
	}
	// An existing data dir without key: still nothing created.
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := l.LoadTokenKey(); !errors.Is(err, ErrNoDataDir) || !strings.Contains(err.Error(), l.TokenKey) {
		t.Fatalf("LoadTokenKey without key = %v", err)
	}
	if _, err := os.Stat(l.TokenKey); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the key was created: %v", err)
	}
	// Once a server created the key, it is read.
	want, err := auth.LoadOrCreateKey(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.LoadTokenKey()
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := want.Issue(auth.Principal{Role: "admin", Subject: "x"}, 60e9)
	if _, err := got.Verify(tok); err != nil {
		t.Fatalf("the loaded key is not the data dir's: %v", err)
	}
	// A file in place of the data dir.
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := New(file).MustExist(); !errors.Is(err, ErrNoDataDir) {
		t.Fatalf("MustExist on a file = %v", err)
	}
}
