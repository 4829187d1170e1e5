package datadir_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// The inventory lists every key with its public id and status, one line
// per provenance key, flags an exposed key and a missing one, and never
// shows a secret.
func TestInventoryListsEveryKeyWithoutSecrets(t *testing.T) {
	keys := datadir.NewKeys(filepath.Join(t.TempDir(), "keys"))
	if _, _, err := keys.Init("attestation-ledger"); err != nil {
		t.Fatal(err)
	}
	staged, err := keys.StageProvenanceKey()
	if err != nil {
		t.Fatal(err)
	}
	inv := keys.Inventory()
	names := map[string][]datadir.KeyInfo{}
	for _, k := range inv {
		names[k.Name] = append(names[k.Name], k)
		if k.Problem != "" || k.ID == "" || k.Mode == "" {
			t.Errorf("key %+v: want an id, a mode and no problem", k)
		}
	}
	for _, n := range []string{"token", "checkpoint-signer", "checkpoint-verifier", "nats-ledger", "nats-auditor"} {
		if len(names[n]) != 1 {
			t.Errorf("%s listed %d times", n, len(names[n]))
		}
	}
	if p := names["provenance"]; len(p) != 2 || p[0].Status != "current" || p[1].Status != "verify only" || p[1].ID != staged {
		t.Fatalf("provenance keyring listed as %+v", p)
	}
	secrets := []string{}
	for _, f := range []string{keys.TokenKey, keys.CheckpointSigner, keys.Provenance, keys.NATSLedger, keys.NATSAuditor} {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Fields(string(b)) {
			if len(line) > 20 && !strings.HasPrefix(line, "-----") && !strings.HasPrefix(line, "U") {
				secrets = append(secrets, line)
			}
		}
	}
	text := ""
	for _, k := range inv {
		text += k.ID + " " + k.Problem + "\n"
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Fatalf("the inventory shows a secret: %s", s)
		}
	}

	if err := os.Chmod(keys.Provenance, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keys.NATSAuditor); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.Inventory() {
		switch {
		case k.Name == "provenance" && !strings.Contains(k.Problem, "chmod 600"):
			t.Errorf("an exposed provenance key is not flagged: %+v", k)
		case k.Name == "nats-auditor" && k.Status != "missing":
			t.Errorf("a missing key is not flagged: %+v", k)
		}
	}
}
