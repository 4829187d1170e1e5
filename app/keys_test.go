package app_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
)

// A data dir made before the keys dir (its token key at its root) keeps
// working with no manual step: the key moves into the keys dir at start,
// and the tokens it signed are still accepted.
func TestStartMovesTheOldTokenKeyIntoTheKeysDir(t *testing.T) {
	dir := t.TempDir()
	old, err := auth.LoadOrCreateKey(dir) // the old place
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := old.Issue(auth.Principal{Role: "admin", Subject: "x"}, time.Hour)
	a, err := app.Start(t.Context(), app.Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Signer.Verify(tok); err != nil {
		t.Fatalf("a token of the old key is refused: %v", err)
	}
	l := datadir.New(dir)
	if _, err := os.Stat(l.LegacyTokenKey); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old key is still at the data dir's root: %v", err)
	}
	if _, key, err := a.Keys.LoadProvenanceKey(); err != nil || len(key) != datadir.ProvenanceKeySize {
		t.Fatalf("the provenance key: %v", err)
	}
	for _, f := range []string{l.KeysDir("").TokenKey, l.KeysDir("").Provenance, l.KeysDir("").NATSLedger, l.KeysDir("").NATSAuditor} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

// Two data dirs sharing a keys dir sign with one key: a token minted for
// one instance is accepted by the other, and they publish checkpoints with
// one verifier key.
func TestInstancesSharingAKeysDirShareTheKeys(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	a, err := app.Start(t.Context(), app.Config{DataDir: t.TempDir(), KeysDir: keys, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := app.Start(t.Context(), app.Config{DataDir: t.TempDir(), KeysDir: keys, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tok, _ := a.Signer.Issue(auth.Principal{Role: "admin", Subject: "x"}, time.Hour)
	if _, err := b.Signer.Verify(tok); err != nil {
		t.Fatalf("b refuses a's token: %v", err)
	}
	if a.Ledger.VerifierKey() != b.Ledger.VerifierKey() {
		t.Fatal("two checkpoint keys")
	}
}

func TestStartRefusesAnExposedKey(t *testing.T) {
	dir := t.TempDir()
	k := datadir.New(dir).KeysDir("")
	if _, _, err := k.Init(""); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(k.TokenKey, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := app.Start(t.Context(), app.Config{DataDir: dir, Logger: quiet()})
	if !errors.Is(err, keyfile.ErrExposed) || !strings.Contains(err.Error(), "chmod 600 "+k.TokenKey) {
		t.Fatalf("Start with a 0644 token key: %v", err)
	}
}

// --nats-listen admits the keys dir's NATS users only.
func TestNATSListenAdmitsTheKeysDirUsersOnly(t *testing.T) {
	dir := t.TempDir()
	a, err := app.Start(t.Context(), app.Config{DataDir: dir, NATSListen: "127.0.0.1:0", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	url := a.Store.ClientURL()
	if _, err := nats.Connect(url, nats.NoReconnect()); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("anonymous client: %v", err)
	}
	k := datadir.New(dir).KeysDir("")
	for _, f := range []string{k.NATSLedger, k.NATSAuditor} {
		seed, _, err := datadir.LoadNATSSeed(f)
		if err != nil {
			t.Fatal(err)
		}
		kp, _ := nkeys.FromSeed(seed)
		pub, _ := kp.PublicKey()
		nc, err := nats.Connect(url, nats.Nkey(pub, kp.Sign), nats.NoReconnect())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		nc.Close()
	}
	// The seed file is the format the NATS tools read (nats --nkey FILE).
	opt, err := nats.NkeyOptionFromSeed(k.NATSAuditor)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, opt, nats.NoReconnect())
	if err != nil {
		t.Fatalf("the auditor's seed file: %v", err)
	}
	nc.Close()
}
