package integrity

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// racingStore runs before once, just before the first Append goes
// through: another instance publishing in between.
type racingStore struct {
	CheckpointStore
	before func()
}

func (r *racingStore) Append(ctx context.Context, after uint64, size int64, note []byte) (uint64, error) {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	return r.CheckpointStore.Append(ctx, after, size, note)
}

// Two instances sharing one list (here a checkpoint file both use as
// their store): a publication refused because the other was first is
// retried on top of the other's, and the list stays consistent.
func TestPublishRefusedIsRetriedOnTopOfTheOther(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 100)
	ctx := context.Background()
	shared, err := openCheckpointFile(t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shared.close() })
	keys := t.TempDir()
	cfgA, cfgB := testConfig(t), testConfig(t)
	cfgA.KeyDir, cfgB.KeyDir = keys, keys
	cfgA.Checkpoints = shared
	racing := &racingStore{CheckpointStore: shared}
	cfgB.Checkpoints = racing
	a, b := openLog(t, cfgA), openLog(t, cfgB)
	if err := a.CatchUp(ctx, store); err != nil {
		t.Fatal(err)
	}
	fill(t, store, rng, 50)
	if err := b.CatchUp(ctx, store); err != nil {
		t.Fatal(err)
	}
	var first SignedCheckpoint
	racing.before = func() {
		var err error
		if first, err = a.Checkpoint(ctx); err != nil || first.Size != 100 {
			t.Errorf("a.Checkpoint = %d, %v", first.Size, err)
		}
	}
	c, err := b.Checkpoint(ctx)
	if err != nil || c.Size != 150 {
		t.Fatalf("b.Checkpoint after losing the race = %d, %v; want 150", c.Size, err)
	}
	notes, err := shared.Read(ctx, 1, 10)
	if err != nil || len(notes) != 2 || notes[0].Size != 100 || notes[1].Size != 150 {
		t.Fatalf("shared list = %+v, %v", notes, err)
	}
	p, err := b.ConsistencyProof(ctx, 100, 150)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(p.Hashes, c.Size, c.Root, first.Size, first.Root); err != nil {
		t.Fatalf("the retried checkpoint does not extend the other's: %v", err)
	}
	// a serves b's checkpoint once it reads the list, and proves against
	// it once its tree gets there.
	if _, err := a.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Latest(); got.Size != 150 {
		t.Fatalf("a serves %d, want 150", got.Size)
	}
	if err := a.CatchUp(ctx, store); err != nil {
		t.Fatal(err)
	}
	if _, err := a.InclusionProof(ctx, 120, 150); err != nil {
		t.Fatal(err)
	}
}

// Without a lease, a store that refuses every publication wears the
// retries out and says so.
func TestPublishGivesUpAfterRetries(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 10)
	cfg := testConfig(t)
	cfg.Checkpoints = refusingStore{}
	l := openLog(t, cfg)
	if err := l.CatchUp(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(context.Background()); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("Checkpoint = %v, want ErrConcurrency", err)
	}
}

type refusingStore struct{}

func (refusingStore) Append(context.Context, uint64, int64, []byte) (uint64, error) {
	return 0, eventstore.ErrConcurrency
}
func (refusingStore) Read(context.Context, uint64, int) ([]StoredNote, error) { return nil, nil }
func (refusingStore) Wait(ctx context.Context, _ uint64) error {
	<-ctx.Done()
	return ctx.Err()
}

// A single instance that joins a shared store carries its checkpoints
// over: the history auditors hold stays served, and the list goes on from
// it.
func TestLocalCheckpointsSeedAnEmptySharedList(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 40)
	ctx := context.Background()
	cfg := testConfig(t)
	l := openLog(t, cfg)
	var local []SignedCheckpoint
	for range 3 {
		if err := l.CatchUp(ctx, store); err != nil {
			t.Fatal(err)
		}
		c, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		local = append(local, c)
		fill(t, store, rng, 10)
	}
	_ = l.Close()

	shared, err := openCheckpointFile(t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shared.close() })
	cfg.Checkpoints = shared
	l = openLog(t, cfg)
	if got := l.CheckpointSizes(); len(got) != 3 || got[0] != local[0].Size || got[2] != local[2].Size {
		t.Fatalf("shared list after joining = %v, want the local %d, %d, %d", got, local[0].Size, local[1].Size, local[2].Size)
	}
	if err := l.CatchUp(ctx, store); err != nil {
		t.Fatal(err)
	}
	c, err := l.Checkpoint(ctx)
	if err != nil || c.Size != 70 {
		t.Fatalf("Checkpoint after joining = %d, %v", c.Size, err)
	}
	// Another instance joining later reads the same list; its own empty
	// local file seeds nothing.
	cfg2 := testConfig(t)
	cfg2.KeyDir, cfg2.Checkpoints = cfg.Dir, shared // the first one's key (its default KeyDir)
	other := openLog(t, cfg2)
	if got := other.CheckpointSizes(); len(got) != 4 || got[3] != 70 {
		t.Fatalf("the other instance serves %v", got)
	}
}
