package jetstream_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// TestReadsNeverSplitAnAppend reads the log while appends of 100 events
// are being committed: the server applies an atomic batch one message at a
// time, and a read must never return the first events of an append
// without the others (the contract test's ContextCancellation case saw
// this now and then: a read right after cancelled appends, whose batch was
// still being applied).
func TestReadsNeverSplitAnAppend(t *testing.T) {
	s := openStore(t, t.TempDir())
	const (
		writers = 4
		appends = 30
		size    = eventstore.MaxAppendEvents
	)
	var done atomic.Bool
	var wg sync.WaitGroup
	wctx, stop := context.WithCancel(t.Context())
	defer wg.Wait()
	defer stop()
	for w := range writers {
		wg.Go(func() {
			for a := range appends {
				events := make([]eventstore.NewEvent, size)
				for i := range events {
					events[i] = eventstore.NewEvent{
						ID: fmt.Sprintf("w%d-a%d-e%d", w, a, i), Type: "test.happened", SchemaVersion: 1,
						OccurredAt: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC), Data: []byte(`{}`),
					}
				}
				if _, err := s.Append(wctx, fmt.Sprintf("company-w%d", w), eventstore.Any(), events...); err != nil {
					if wctx.Err() == nil {
						t.Error(err)
					}
					return
				}
			}
		})
	}
	go func() { wg.Wait(); done.Store(true) }()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	reads := 0
	logged := 0                      // events of the log read so far
	streamed := make([]int, writers) // events of each stream read so far
	for !done.Load() {
		reads++
		// Every append is 100 events, so a read that ends at the end of an
		// append has read a multiple of 100 events.
		page, err := s.ReadAll(ctx, uint64(logged)+1, writers*appends*size)
		if err != nil {
			t.Fatal(err)
		}
		if logged += len(page); logged%size != 0 {
			last := page[len(page)-1]
			t.Fatalf("read %d: the log read ends at %s at %d (stream %s, version %d): inside an append",
				reads, last.ID, last.Position, last.Stream, last.Version)
		}
		w := reads % writers
		events, err := s.ReadStream(ctx, fmt.Sprintf("company-w%d", w), uint64(streamed[w])+1)
		if err != nil {
			t.Fatal(err)
		}
		if streamed[w] += len(events); streamed[w]%size != 0 {
			t.Fatalf("read %d: stream company-w%d read up to version %d: inside an append", reads, w, streamed[w])
		}
		head, err := s.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if head%size != 0 {
			t.Fatalf("read %d: head %d is inside an append", reads, head)
		}
	}
	if reads < 5 {
		t.Fatalf("only %d reads while appending", reads)
	}
	if head, err := s.Head(ctx); err != nil || head != writers*appends*size {
		t.Fatalf("head %d (%v), want %d", head, err, writers*appends*size)
	}
	t.Logf("%d reads while appending", reads)
}
