package handlers

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// appendCounter counts the appends tried on a store.
type appendCounter struct {
	eventstore.Store
	n atomic.Int64
}

func (a *appendCounter) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.NewEvent) (eventstore.AppendResult, error) {
	a.n.Add(1)
	return a.Store.Append(ctx, stream, expected, events...)
}

// A keyed command sent again to a process that does not have the company
// in memory (a bank file re-sent after a restart) is answered from the
// stream without trying an append: an append assumed on an empty stream
// fails in the store's group commit and slows every append batched with
// it (a re-sent file ran 20 times slower than the first sending).
func TestKeyedRetryOfAnUncachedCompanyTriesNoAppend(t *testing.T) {
	store := openTestStore(t)
	keys, err := store.IdempotencyKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	counted := &appendCounter{Store: store}
	repo := func() *Repository { return newRepository(counted, keys, nil, time.Now, 16, 100, m) }
	siren, _ := domain.ParseSIREN("732829320")
	change := Change{Meta: keyedMeta("hash-1"), Decide: func(c *domain.Company, now time.Time) ([]domain.Event, error) {
		return testRequest(t, c, now, "r1", 1)
	}}
	ctx := context.Background()
	first, err := repo().Update(ctx, siren, change)
	if err != nil || first.Replayed {
		t.Fatalf("first: %+v %v", first, err)
	}
	before := counted.n.Load()
	again, err := repo().Update(ctx, siren, change) // a new process: nothing cached
	if err != nil || !again.Replayed || again.Position != first.Position {
		t.Fatalf("again: %+v %v", again, err)
	}
	if n := counted.n.Load() - before; n != 0 {
		t.Errorf("the retry tried %d appends", n)
	}
}
