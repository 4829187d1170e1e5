package journal

import (
	"context"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/integrity/jscheckpoints"
)

// Two instances sharing the journal's checkpoint list and publisher lease
// see one history: one publishes, the other verifies and serves the same
// checkpoints, and each proves an entry against them.
func TestInstancesShareTheJournalCheckpoints(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, t.TempDir())
	keys := t.TempDir()
	open := func(holder string) *Journal {
		cps, err := jscheckpoints.OpenJournal(ctx, store)
		if err != nil {
			t.Fatal(err)
		}
		lease, err := jscheckpoints.JournalLease(ctx, store, holder, integrity.DefaultLeaseTTL)
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(store, t.TempDir(), keys)
		cfg.Checkpoints, cfg.Lease, cfg.Instance = cps, lease, holder
		return openJournal(t, cfg)
	}
	a, b := open("a"), open("b")
	for i := range 6 {
		j := a
		if i%2 == 1 {
			j = b
		}
		if err := j.Record(read(i, "552100554")); err != nil {
			t.Fatal(err)
		}
	}
	waitCheckpoint(t, a, 6)
	waitFor(t, 10*time.Second, "the other instance to see the checkpoint", func() bool {
		if n, _ := b.Tree().Size(); n < 6 {
			return false
		}
		_, _ = b.Tree().Checkpoint(ctx) // reads the shared list
		cp, ok := b.Tree().Latest()
		return ok && cp.Size >= 6
	})
	ca, _ := a.Tree().Latest()
	cb, _ := b.Tree().Latest()
	if ca.Size != cb.Size || ca.Root != cb.Root || string(ca.Note) != string(cb.Note) {
		t.Fatalf("instances disagree: %d %s / %d %s", ca.Size, ca.Root, cb.Size, cb.Root)
	}
	if pa, pb := a.Tree().Publishing(), b.Tree().Publishing(); pa == pb {
		t.Fatalf("publishing: a %v, b %v; want exactly one", pa, pb)
	}
	if a.Tree().VerifierKey() != b.Tree().VerifierKey() {
		t.Fatal("the instances' journal keys differ")
	}
}
