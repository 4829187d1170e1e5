package journal

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A burst larger than the memory queue is spilled to the file and
// published from it: every entry arrives once, none is dropped.
func TestBurstSpillsAndArrivesOnce(t *testing.T) {
	store := openStore(t, t.TempDir())
	cfg := testConfig(store, t.TempDir(), t.TempDir())
	cfg.Buffer = 4
	j := openJournal(t, cfg)
	const n = 300
	for i := range n {
		if err := j.Record(read(i, "552100554")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "every entry in the tree", func() bool {
		size, _ := j.Tree().Size()
		return size >= n
	})
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive by now
	st := j.Status()
	if st.TreeSize != n || st.Dropped != 0 || st.Spilled != 0 || st.Queued != 0 {
		t.Fatalf("status after the burst: %+v", st)
	}
	if st.Published != n {
		t.Fatalf("published %d, want %d", st.Published, n)
	}
	assertUniqueIDs(t, j, n)
}

// Entries recorded while the journal stream is unreachable wait, are
// spilled when the journal closes, and are published by the next start:
// none is lost, none recorded twice.
func TestStreamDownEntriesSurviveRestart(t *testing.T) {
	storeDir, dir, keys := t.TempDir(), t.TempDir(), t.TempDir()
	store := openStore(t, storeDir)
	j, err := Open(context.Background(), testConfig(store, dir, keys))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_ = j.Record(read(i, "552100554"))
	}
	waitFor(t, 10*time.Second, "the first entries", func() bool { n, _ := j.Tree().Size(); return n == 3 })
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_ = j.Record(read(i, "732829320"))
	}
	waitFor(t, 10*time.Second, "the publish failure to show", func() bool { return j.Status().PublishError != "" })
	if err := j.Ready(context.Background()); err == nil {
		t.Fatal("ready while entries cannot be published")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_ = j.Close(ctx)
	cancel()
	if n, err := countLines(filepath.Join(dir, spillName)); err != nil || n != 5 {
		t.Fatalf("spill file holds %d entries (%v), want 5", n, err)
	}

	store = openStore(t, storeDir)
	j = openJournal(t, testConfig(store, dir, keys))
	waitFor(t, 10*time.Second, "the spilled entries", func() bool { n, _ := j.Tree().Size(); return n >= 8 })
	time.Sleep(300 * time.Millisecond)
	if n, _ := j.Tree().Size(); n != 8 {
		t.Fatalf("tree of %d entries, want 8", n)
	}
	if _, err := os.Stat(filepath.Join(dir, sendingName)); !os.IsNotExist(err) {
		t.Fatalf("spill file left after publishing: %v", err)
	}
	assertUniqueIDs(t, j, 8)
}

func assertUniqueIDs(t *testing.T, j *Journal, n int) {
	t.Helper()
	seen := map[string]bool{}
	if err := j.readLeaves(context.Background(), int64(n), func(pos uint64, leaf []byte) error {
		_, stored, _ := splitPosition(leaf)
		e, err := decode(stored)
		if err != nil {
			return err
		}
		if seen[e.ID] {
			t.Errorf("entry %s recorded twice (position %d)", e.ID, pos)
		}
		seen[e.ID] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("%d distinct entries, want %d", len(seen), n)
	}
}

// Only when the queue is full and the spill file cannot be written is an
// entry lost: the loss is counted, readiness fails, and the loss itself
// is journaled with the count.
func TestLossIsCountedAndJournaled(t *testing.T) {
	store := openStore(t, t.TempDir())
	cfg := testConfig(store, t.TempDir(), t.TempDir())
	cfg.Buffer = 1
	j := openJournal(t, cfg)
	if err := os.Mkdir(filepath.Join(cfg.Dir, spillName), 0o700); err != nil { // the spill file cannot be opened
		t.Fatal(err)
	}
	for i := range 200 {
		_ = j.Record(read(i, "552100554"))
	}
	st := j.Status()
	if st.Dropped == 0 {
		t.Fatalf("nothing dropped with a queue of 1 and no spill file: %+v", st)
	}
	if err := j.Ready(context.Background()); err == nil {
		t.Fatal("ready after losing entries")
	}
	waitFor(t, 10*time.Second, "the loss to be journaled", func() bool {
		p, err := j.Query(context.Background(), Query{Objects: []string{""}, Actions: []Action{JournalLoss}})
		return err == nil && len(p.Records) > 0 && p.Records[0].Detail["dropped"] != ""
	})
	waitFor(t, 10*time.Second, "the kept entries in the tree", func() bool {
		n, _ := j.Tree().Size()
		return uint64(n)+st.Dropped >= 200
	})
}
