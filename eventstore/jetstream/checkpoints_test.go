package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
)

func TestCheckpointsAreFencedAndSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openStore(t, dir)
	cps, err := s.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last, err := cps.Last(ctx); err != nil || last != 0 {
		t.Fatalf("Last of an empty list = %d, %v", last, err)
	}
	seq, err := cps.Append(ctx, 0, 10, []byte("note 10\n"))
	if err != nil || seq != 1 {
		t.Fatalf("first Append = %d, %v", seq, err)
	}
	// Two publishers that both saw checkpoint #1: exactly one appends.
	var wg sync.WaitGroup
	var won, lost int
	var mu sync.Mutex
	for i := range 8 {
		wg.Go(func() {
			_, err := cps.Append(ctx, 1, int64(20+i), fmt.Appendf(nil, "note %d\n", 20+i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, eventstore.ErrConcurrency):
				lost++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != 7 {
		t.Fatalf("%d publishers won and %d lost, want 1 and 7", won, lost)
	}
	if _, err := cps.Append(ctx, 2, 30, []byte("note 30\n")); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	s = openStore(t, dir)
	cps, err = s.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cps.Read(ctx, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Size != 10 || string(got[0].Note) != "note 10\n" || got[2].Size != 30 || got[2].Seq != 3 {
		t.Fatalf("after restart: %+v", got)
	}
	if got, err := cps.Read(ctx, 3, 10); err != nil || len(got) != 1 {
		t.Fatalf("Read from 3 = %+v, %v", got, err)
	}
}

func TestCheckpointsDenyDeleteAndPurge(t *testing.T) {
	ctx := context.Background()
	seed, _ := newUser(t)
	s := openStore(t, t.TempDir(), withNKey(seed))
	nc, err := connectAs(t, s.ClientURL(), seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cps, err := s.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cps.Append(ctx, 0, 1, []byte("n\n")); err != nil {
		t.Fatal(err)
	}
	js, err := njs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, jetstream.CheckpointsStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(ctx, 1); err == nil {
		t.Fatal("a checkpoint was deleted")
	}
	if err := st.Purge(ctx); err == nil {
		t.Fatal("the checkpoints were purged")
	}
	// Beside the ledger user's permissions, the stream itself denies both.
	if c := st.CachedInfo().Config; !c.DenyDelete || !c.DenyPurge {
		t.Fatalf("the checkpoints stream allows delete or purge: %+v", c)
	}
}

func TestCheckpointsWaitWakesOnPublication(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	cps, err := s.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		_ = cps.Wait(ctx, 0, 10*time.Second)
		done <- time.Since(start)
	}()
	time.Sleep(100 * time.Millisecond)
	if _, err := cps.Append(ctx, 0, 5, []byte("n\n")); err != nil {
		t.Fatal(err)
	}
	if took := <-done; took > 5*time.Second {
		t.Fatalf("Wait returned after %s: the publication did not wake it", took)
	}
}

func TestLeaseOneHolderAtATime(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	const ttl = 2 * time.Second
	a, err := s.Lease(ctx, "checkpoint-publisher", "instance-a", ttl)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Lease(ctx, "checkpoint-publisher", "instance-b", ttl)
	if err != nil {
		t.Fatal(err)
	}
	held, tokA, err := a.Acquire(ctx)
	if err != nil || !held {
		t.Fatalf("a.Acquire = %v, %v", held, err)
	}
	if held, _, err := b.Acquire(ctx); err != nil || held {
		t.Fatalf("b took a held lease: %v, %v", held, err)
	}
	if who, err := b.Holder(ctx); err != nil || who != "instance-a" {
		t.Fatalf("Holder = %q, %v", who, err)
	}
	// Renewals keep it, with a new fencing token each time.
	held, tokA2, err := a.Acquire(ctx)
	if err != nil || !held || tokA2 <= tokA {
		t.Fatalf("renewal = %v, %d (was %d), %v", held, tokA2, tokA, err)
	}
	// a stops renewing: after the ttl, b takes it, and a's renewal fails.
	deadline := time.Now().Add(4 * ttl)
	for {
		held, tokB, err := b.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if held {
			if tokB <= tokA2 {
				t.Fatalf("b's token %d is not after a's %d", tokB, tokA2)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease never expired")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if held, _, err := a.Acquire(ctx); err != nil || held {
		t.Fatalf("a renewed a lease b holds: %v, %v", held, err)
	}
	if held, _ := a.Held(); held {
		t.Fatal("a still believes it holds the lease")
	}
	// b releases: a takes it at once.
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if held, _, err := a.Acquire(ctx); err != nil || !held {
		t.Fatalf("a after b released: %v, %v", held, err)
	}
}
