package projections

import (
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// The live gather delay doubles while events pour in and halves back when
// they thin out, within its bounds.
func TestLiveGatherDelayAdapts(t *testing.T) {
	ms := time.Millisecond
	f := &feed{gather: 5 * ms, gatherMin: 5 * ms, gatherMax: 40 * ms}
	for _, step := range []struct {
		arrived int
		want    time.Duration
	}{
		{gatherGrowAt, 10 * ms}, {100, 20 * ms}, {100, 40 * ms}, {1000, 40 * ms}, // pouring
		{gatherGrowAt - 1, 40 * ms},                                           // steady: keep
		{gatherShrinkAt - 1, 20 * ms}, {0, 10 * ms}, {1, 5 * ms}, {0, 5 * ms}, // thinning out
	} {
		f.adapt(step.arrived)
		if f.gather != step.want {
			t.Fatalf("after %d arrivals: delay %s, want %s", step.arrived, f.gather, step.want)
		}
	}
}

// A live batch waits the delay for more events, and what arrives meanwhile
// makes the next wait longer.
func TestLiveBatchGathersWhatArrives(t *testing.T) {
	f := &feed{ch: make(chan Item, 64), gather: 5 * time.Millisecond, gatherMin: 5 * time.Millisecond, gatherMax: 50 * time.Millisecond}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // events keep coming
		defer close(done)
		for pos := uint64(1); ; pos++ {
			select {
			case f.ch <- Item{Envelope: eventstore.Envelope{Position: pos}}:
			case <-stop:
				return
			}
		}
	}()
	start := time.Now()
	items, err := f.next(t.Context(), 1<<20)
	took := time.Since(start)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if took < 5*time.Millisecond || len(items) < gatherGrowAt {
		t.Fatalf("a batch of %d after %s: want the 5 ms wait and what came during it", len(items), took)
	}
	if f.gather != 10*time.Millisecond {
		t.Fatalf("delay %s after a busy wait, want 10ms", f.gather)
	}
	for i, it := range items {
		if it.Envelope.Position != uint64(i+1) {
			t.Fatalf("item %d at position %d", i, it.Envelope.Position)
		}
	}
}
