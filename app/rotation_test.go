package app_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// The provenance key rotates in two steps across restarts: staged
// (verify-only), then promoted (signing); every event stays trusted, and
// the events after the promotion are signed with the new key. An instance
// that never got the new key would count those events as forged, which is
// why the new key is staged everywhere before it signs.
func TestProvenanceKeyRotatesInTwoSteps(t *testing.T) {
	dir := t.TempDir()
	keys := datadir.New(dir).KeysDir("")
	start := func() *app.App {
		t.Helper()
		a, err := app.Start(t.Context(), app.Config{DataDir: dir, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	signer := func(a *app.App, pos uint64) string {
		t.Helper()
		envs, err := a.Store.ReadAll(t.Context(), pos, 1)
		if err != nil || len(envs) != 1 {
			t.Fatalf("read %d: %v", pos, err)
		}
		parts := strings.Split(envs[0].Provenance, ":")
		if len(parts) != 3 {
			t.Fatalf("provenance %q", envs[0].Provenance)
		}
		return parts[1]
	}
	untrustedAfter := func(a *app.App, want int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			n, _ := a.Provenance().Untrusted()
			head, _ := a.Store.Head(t.Context())
			if n == want && a.ReadModels.Ready(t.Context()) == nil && head > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("untrusted events: %d, want %d", n, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	a := start()
	submitTo(t, a)
	old, _, err := keys.LoadProvenanceKey()
	if err != nil {
		t.Fatal(err)
	}
	oldLine, err := os.ReadFile(keys.Provenance)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	staged, err := keys.StageProvenanceKey()
	if err != nil {
		t.Fatal(err)
	}
	a = start()
	submitTo(t, a)
	if got := signer(a, 6); got != old {
		t.Fatalf("a staged key signed (%s); the old one (%s) must until promoted", got, old)
	}
	a.Close()

	if err := keys.PromoteProvenanceKey(staged); err != nil {
		t.Fatal(err)
	}
	if err := keys.PromoteProvenanceKey("no-such-key"); err == nil {
		t.Fatal("promoted a key that is not in the keyring")
	}
	a = start()
	submitTo(t, a)
	if got := signer(a, 9); got != staged {
		t.Fatalf("after the promotion, events are signed by %s, want %s", got, staged)
	}
	untrustedAfter(a, 0)
	a.Close()
	if fi, err := os.Stat(keys.Provenance); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file after rotation: %v %v", fi.Mode(), err)
	}

	// An instance whose keyring lacks the new key: the 3 events it signed
	// are counted as forged (and used by nothing).
	if err := os.WriteFile(keys.Provenance, oldLine, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(datadir.New(dir).ReadModels); err != nil {
		t.Fatal(err)
	}
	a = start()
	defer a.Close()
	untrustedAfter(a, 3)
}
