package journal

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Retention expires old entries from the stream, and the proofs of what
// remains still verify: the tree keeps the expired leaves' hashes, so the
// remaining entries are proven included in a checkpoint signed after the
// expiry, that checkpoint is proven consistent with one signed before it,
// and an export after the expiry verifies offline, counting the expired
// leaves. A tree started after the expiry is built from the hash archive.
func TestRetentionKeepsProofs(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, t.TempDir())
	keys := t.TempDir()
	cfg := testConfig(store, t.TempDir(), keys)
	cfg.Retention = 2 * time.Second
	j := openJournal(t, cfg)
	for i := range 5 {
		if err := j.Record(read(i, "552100554")); err != nil {
			t.Fatal(err)
		}
	}
	waitCheckpoint(t, j, 5)
	before, _ := j.Tree().Latest()

	waitFor(t, 15*time.Second, "the first entries to expire", func() bool {
		info, err := j.stream.Info(ctx)
		return err == nil && info.State.Msgs == 0 && info.State.FirstSeq > uint64(before.Size)
	})
	for i := range 3 {
		if err := j.Record(read(i, "732829320")); err != nil {
			t.Fatal(err)
		}
	}
	waitCheckpoint(t, j, before.Size+3)
	after, _ := j.Tree().Latest()

	// The remaining entries, read from the stream, are in the new tree.
	var leaves [][]byte
	var positions []uint64
	if err := j.readLeaves(ctx, after.Size, func(pos uint64, leaf []byte) error {
		positions, leaves = append(positions, pos), append(leaves, leaf)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(leaves) != 3 || positions[0] != uint64(before.Size)+1 {
		t.Fatalf("remaining positions %v", positions)
	}
	for i, leaf := range leaves {
		idx := int64(positions[i]) - 1
		p, err := j.Tree().InclusionProof(ctx, idx, after.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p.Hashes, after.Size, after.Root, idx, tlog.RecordHash(leaf)); err != nil {
			t.Fatalf("inclusion of position %d after the expiry: %v", positions[i], err)
		}
	}
	// The checkpoints before and after the expiry are consistent.
	cp, err := j.Tree().ConsistencyProof(ctx, before.Size, after.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(cp.Hashes, after.Size, after.Root, before.Size, before.Root); err != nil {
		t.Fatalf("consistency across the expiry: %v", err)
	}
	// The expired leaves' hashes are still there to prove them.
	if hs, err := j.Tree().LeafHashes(0, before.Size); err != nil || int64(len(hs)) != before.Size {
		t.Fatalf("expired leaf hashes: %d, %v", len(hs), err)
	}

	dir := t.TempDir()
	if _, err := j.Export(ctx, dir); err != nil {
		t.Fatal(err)
	}
	res, err := verifyDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Expired != before.Size || res.Entries != 3 || res.Size != after.Size || res.Checkpoints < 2 {
		t.Fatalf("verify after the expiry: %+v", res)
	}

	// A second instance whose tree starts after the expiry builds it from
	// the hash archive and the stream, to the same roots.
	late := testConfig(store, t.TempDir(), keys)
	late.Retention = cfg.Retention
	j2 := openJournal(t, late)
	waitFor(t, 10*time.Second, "the late tree to catch up", func() bool {
		n, _ := j2.Tree().Size()
		return n >= after.Size
	})
	if st := j2.Status(); st.TreeError != "" {
		t.Fatalf("late tree: %s", st.TreeError)
	}
	waitCheckpoint(t, j2, after.Size)
	c2, err := j2.Tree().CheckpointAt(ctx, after.Size)
	if err != nil {
		t.Fatalf("late tree checkpoint: %v", err)
	}
	if c2.Root != after.Root {
		t.Fatalf("the late tree's root at %d is %s, the first's %s", after.Size, c2.Root, after.Root)
	}
}

// Without the hash archive's chunk, a tree that starts after the expiry
// cannot be built: it reports the gap rather than a wrong tree.
func TestLateTreeWithoutArchiveReportsTheGap(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, t.TempDir())
	keys := t.TempDir()
	cfg := testConfig(store, t.TempDir(), keys)
	cfg.Retention = time.Hour // the archive writes a chunk after 15 minutes or 4096 leaves
	j := openJournal(t, cfg)
	for i := range 3 {
		_ = j.Record(read(i, "552100554"))
	}
	waitCheckpoint(t, j, 3)
	cfg.Retention = time.Second // expire them now
	if _, err := ensureStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the entries to expire", func() bool {
		info, err := j.stream.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
	late := testConfig(store, t.TempDir(), keys)
	late.Retention = time.Second
	j2 := openJournal(t, late)
	waitFor(t, 10*time.Second, "the late tree to report the gap", func() bool {
		return strings.Contains(j2.Status().TreeError, "hash archive ends")
	})
	if n, _ := j2.Tree().Size(); n != 0 {
		t.Fatalf("the late tree took %d leaves", n)
	}
	if j2.Ready(ctx) == nil {
		t.Fatal("a journal whose tree cannot follow is ready")
	}
}
