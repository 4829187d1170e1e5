package jetstream_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// Concurrent claims of one key: one fingerprint wins and every claimant
// is told which; the record survives a restart; a bad key is refused.
func TestKeysClaim(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openStore(t, dir)
	keys, err := s.IdempotencyKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const claimants = 16
	got := make([]string, claimants)
	var wg sync.WaitGroup
	for i := range claimants {
		wg.Go(func() {
			first, err := keys.Claim(ctx, "k1", fmt.Sprintf("fp-%d", i))
			if err != nil {
				t.Error(err)
			}
			got[i] = first
		})
	}
	wg.Wait()
	winners := 0
	for i, g := range got {
		if g != got[0] {
			t.Fatalf("claimant %d was told %q, claimant 0 %q", i, g, got[0])
		}
		if g == fmt.Sprintf("fp-%d", i) {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d winners", winners)
	}
	if first, err := keys.Claim(ctx, "k2", "fp-x"); err != nil || first != "fp-x" {
		t.Fatalf("another key: %q %v", first, err)
	}
	if _, err := keys.Claim(ctx, "bad key", "fp"); err == nil {
		t.Fatal("a key with a space was accepted")
	}
	_ = s.Close()

	s2 := openStore(t, dir)
	keys2, err := s2.IdempotencyKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first, err := keys2.Claim(ctx, "k1", "fp-late"); err != nil || first != got[0] {
		t.Fatalf("after restart: %q %v, want %q", first, err, got[0])
	}
	if _, err := keys2.Claim(context.Background(), "k3", "fp"); err != nil {
		t.Fatal(err)
	}
	_ = s2.Close()
	if _, err := keys2.Claim(ctx, "k4", "fp"); err == nil {
		t.Fatal("a claim on a closed store succeeded")
	}
}

// Many concurrent claims of distinct keys go to the server in batches; a
// batch holding an already claimed key is refused as a whole and retried
// claim by claim, so every claimant still gets the right answer.
func TestKeysClaimBatches(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	keys, err := s.IdempotencyKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := keys.Claim(ctx, fmt.Sprintf("old-%d", i), "fp-old"); err != nil {
			t.Fatal(err)
		}
	}
	const claimants = 200
	got := make([]string, claimants)
	var wg sync.WaitGroup
	for i := range claimants {
		wg.Go(func() {
			key, fp := fmt.Sprintf("new-%d", i), fmt.Sprintf("fp-%d", i)
			if i%40 == 0 {
				key = fmt.Sprintf("old-%d", i/40) // already claimed
			}
			first, err := keys.Claim(ctx, key, fp)
			if err != nil {
				t.Error(err)
			}
			got[i] = first
		})
	}
	wg.Wait()
	for i, g := range got {
		want := fmt.Sprintf("fp-%d", i)
		if i%40 == 0 {
			want = "fp-old"
		}
		if g != want {
			t.Fatalf("claimant %d got %q, want %q", i, g, want)
		}
	}
	if st := keys.Stats(); st.Batches == 0 || st.Batched+st.Singles < claimants || st.Singles < 5 {
		t.Fatalf("claims written %+v: want batches, and single claims for the refused ones", st)
	}
	// Every new key is durably claimed with its claimant's fingerprint.
	for i := range claimants {
		if i%40 == 0 {
			continue
		}
		if first, err := keys.Claim(ctx, fmt.Sprintf("new-%d", i), "fp-late"); err != nil || first != fmt.Sprintf("fp-%d", i) {
			t.Fatalf("new-%d: %q %v", i, first, err)
		}
	}
}
