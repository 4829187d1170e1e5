package projections

import (
	"context"
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
	siren := h.companies[0].SIREN().String()
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
