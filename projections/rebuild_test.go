package projections

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// A rebuilt read model equals the live one row for row, in every table,
// checkpoints and dead letters included; a rebuild while the projector
// runs, events are recorded and queries are answered swaps in cleanly and
// the projector goes on from the new file's checkpoints.
func TestRebuildEqualsLiveRowForRow(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 9)
	h.run(t.Context(), 500)
	appendRaw(t, store, "company-000000000", "poison-1", domain.TypeAttestationCancelled, 1, `{"number":"bad"}`)
	h.run(t.Context(), 100)

	dir := t.TempDir()
	rm := openRM(t, dir, store, func(c *Config) { c.MaxBatch = 100 })
	runRM(t, rm)
	head := waitHead(t, rm, store)
	live := dump(t, rm.cur.Load().r)
	if len(live["dead_letters"]) == 0 || len(live["attestations"]) == 0 || len(live["checkpoints"]) != len(projectorNames) {
		t.Fatalf("live read models too poor: %d dead letters, %d attestations", len(live["dead_letters"]), len(live["attestations"]))
	}
	oldFile := rm.cur.Load().path

	var last atomic.Uint64
	res, err := rm.Rebuild(t.Context(), func(done, total uint64) {
		if done < last.Load() || done > total {
			t.Errorf("progress %d of %d after %d", done, total, last.Load())
		}
		last.Store(done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != head || res.Position != head || res.DeadLetters == 0 || last.Load() != head {
		t.Errorf("rebuild: %+v, progress %d, want %d events", res, last.Load(), head)
	}
	assertSameRows(t, live, dump(t, rm.cur.Load().r))
	if _, err := os.Stat(oldFile); !os.IsNotExist(err) {
		t.Errorf("the replaced file %s is still there: %v", oldFile, err)
	}
	if cur, _ := readCurrent(dir); cur != res.File || filepath.Join(dir, cur) != rm.cur.Load().path {
		t.Errorf("CURRENT names %q, the rebuild made %q", cur, res.File)
	}

	// Rebuild again while the projector runs, events are recorded and
	// queries are answered.
	var wg sync.WaitGroup
	ctx, stopQueries := context.WithCancel(t.Context())
	var queries atomic.Int64
	var siren string
	for _, c := range h.companies {
		if _, ok := c.Profile(); ok { // a company with an attested request
			siren = c.SIREN().String()
			break
		}
	}
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := rm.Company(ctx, siren); err != nil && ctx.Err() == nil {
					t.Errorf("query during rebuild: %v", err)
					return
				}
				if _, err := rm.Report(ctx, ReportQuery{GroupBy: GroupByRegion}); err != nil && ctx.Err() == nil {
					t.Errorf("report during rebuild: %v", err)
					return
				}
				queries.Add(1)
			}
		})
	}
	appended := make(chan struct{})
	go func() {
		defer close(appended)
		for range 10 {
			h.run(context.WithoutCancel(ctx), 30)
		}
	}()
	if _, err := rm.Rebuild(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	<-appended
	waitHead(t, rm, store)
	stopQueries()
	wg.Wait()
	if queries.Load() == 0 {
		t.Error("no query ran during the rebuild")
	}

	// An independent live projection of the same log.
	other := openRM(t, t.TempDir(), store, nil)
	runRM(t, other)
	waitHead(t, other, store)
	assertSameRows(t, dump(t, other.cur.Load().r), dump(t, rm.cur.Load().r))
}

// A rebuild whose rows outgrow the projectors' memory leaves the pipeline
// (which needs every row in memory) at a batch boundary and goes on batch
// by batch, reading rows back: the result is the same.
func TestRebuildBeyondTheRowCacheEqualsLive(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 10)
	h.run(t.Context(), 600)
	rm := openRM(t, t.TempDir(), store, func(c *Config) { c.MaxBatch = 50; c.CacheRows = 150 })
	runRM(t, rm)
	head := waitHead(t, rm, store)
	live := dump(t, rm.cur.Load().r)
	res, err := rm.Rebuild(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != head || res.Position != head {
		t.Fatalf("rebuild: %+v, want %d events", res, head)
	}
	assertSameRows(t, live, dump(t, rm.cur.Load().r))
}

// A rebuild stopped midway (here: its context ends after a few batches)
// fails, deletes its file and leaves the current read models as they
// were; the next rebuild succeeds.
func TestRebuildStoppedMidwayChangesNothing(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 13)
	h.run(t.Context(), 400)
	dir := t.TempDir()
	rm := openRM(t, dir, store, func(c *Config) { c.MaxBatch = 50 })
	runRM(t, rm)
	head := waitHead(t, rm, store)
	before := dump(t, rm.cur.Load().r)
	current := rm.cur.Load().path

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var batches atomic.Int64
	_, err := rm.Rebuild(ctx, func(done, total uint64) {
		if batches.Add(1) == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("rebuild stopped midway: %v", err)
	}
	if rm.cur.Load().path != current {
		t.Fatal("a stopped rebuild swapped its file in")
	}
	files, _ := generationFiles(dir)
	if len(files) != 1 {
		t.Fatalf("read-model files after a stopped rebuild: %v", files)
	}
	assertSameRows(t, before, dump(t, rm.cur.Load().r))
	if res, err := rm.Rebuild(t.Context(), nil); err != nil || res.Position != head {
		t.Fatalf("the next rebuild: %+v %v", res, err)
	}
	assertSameRows(t, before, dump(t, rm.cur.Load().r))
}
