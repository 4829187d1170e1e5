package projections

import (
	"context"
	"errors"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/internal/follow"
)

// Two read models at different checkpoints share one follower: each
// reaches the head and they agree row for row, also when one of them is
// rebuilt (paused for its swap) while the log grows.
func TestReadModelsShareAFollower(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 11)
	h.run(t.Context(), 300)
	ahead := openRM(t, t.TempDir(), store, func(c *Config) { c.MaxBatch = 64 })
	stop := runRM(t, ahead)
	waitHead(t, ahead, store)
	stop()
	h.run(t.Context(), 200)
	fresh := openRM(t, t.TempDir(), store, func(c *Config) { c.MaxBatch = 64 })

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- follow.Run(ctx, store, follow.Options{Buffer: 16}, ahead.Consumer(), fresh.Consumer())
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("follow.Run: %v", err)
		}
	}()
	waitHead(t, ahead, store)
	waitHead(t, fresh, store)
	assertSameRows(t, dump(t, ahead.cur.Load().r), dump(t, fresh.cur.Load().r))

	grown := make(chan struct{})
	go func() {
		defer close(grown)
		for range 5 {
			h.run(context.WithoutCancel(ctx), 40)
		}
	}()
	if _, err := fresh.Rebuild(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	<-grown
	waitHead(t, ahead, store)
	waitHead(t, fresh, store)
	assertSameRows(t, dump(t, ahead.cur.Load().r), dump(t, fresh.cur.Load().r))

	// The read models follow once at a time.
	if err := fresh.Run(t.Context()); !errors.Is(err, errRunning) {
		t.Errorf("a second Run = %v, want errRunning", err)
	}
}
