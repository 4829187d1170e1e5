package journal

import (
	"context"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Scan returns the entries of a period by their own time, in position
// order, each with the leaf the tree hashed.
func TestScanReturnsThePeriodsEntriesWithTheirLeaves(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, t.TempDir())
	j := openJournal(t, testConfig(store, t.TempDir(), t.TempDir()))
	base := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 6 {
		e := read(i, "552100554")
		e.Time = base.Add(time.Duration(i) * time.Second)
		if err := j.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	waitCheckpoint(t, j, 6)
	var got []Record
	err := j.Scan(ctx, base.Add(time.Second), base.Add(4*time.Second), func(r Record, leaf []byte) error {
		hs, err := j.Tree().LeafHashes(int64(r.Position)-1, int64(r.Position))
		if err != nil {
			return err
		}
		if tlog.RecordHash(leaf) != hs[0] {
			t.Errorf("position %d: the leaf does not hash to the tree's", r.Position)
		}
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Position != 2 || got[2].Position != 4 || !got[0].Time.Equal(base.Add(time.Second)) {
		t.Fatalf("got %+v, want positions 2..4", got)
	}
	if err := j.Scan(ctx, base, base, func(Record, []byte) error { return nil }); err == nil {
		t.Fatal("an empty period was accepted")
	}
}
