package projections

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
)

// Attestation lookups are answered from memory, but never older than the
// read models: after every command, once WaitForPosition returns, every
// attestation reads as the domain has it, while other goroutines keep
// looking attestations up (and filling the cache) as the projector runs.
func TestAttestationLookupsAreNeverStale(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 11)
	h.run(t.Context(), 400)
	rm := openRM(t, t.TempDir(), store, nil)
	runRM(t, rm)
	waitHead(t, rm, store)

	var numbers []string
	for _, c := range h.companies {
		for _, a := range c.Attestations() {
			numbers = append(numbers, a.Number.String())
		}
	}
	if len(numbers) < 50 {
		t.Fatalf("only %d attestations", len(numbers))
	}
	status := func(number string) string {
		t.Helper()
		_, _, view, err := rm.AttestationJSON(t.Context(), number)
		if err != nil {
			t.Fatalf("lookup %s: %v", number, err)
		}
		var v AttestationView
		if err := json.Unmarshal(view, &v); err != nil {
			t.Fatal(err)
		}
		return v.Status
	}

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for r := range 4 {
		wg.Go(func() {
			for i := r; ctx.Err() == nil; i++ {
				if _, _, _, err := rm.AttestationJSON(ctx, numbers[i%len(numbers)]); err != nil && ctx.Err() == nil {
					t.Errorf("lookup: %v", err)
					return
				}
				lookups.Add(1)
			}
		})
	}
	for step := range 150 {
		h.run(t.Context(), 1)
		head, err := store.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := rm.WaitForPosition(t.Context(), head); err != nil {
			t.Fatal(err)
		}
		for _, c := range h.companies {
			for _, a := range c.Attestations() {
				if got := status(a.Number.String()); got != string(a.Status) {
					t.Fatalf("step %d: attestation %s reads %s, the domain has %s", step, a.Number, got, a.Status)
				}
			}
		}
	}
	cancel()
	wg.Wait()
	if lookups.Load() == 0 {
		t.Fatal("the concurrent readers did not run")
	}
}

// A rebuild swaps in read models with a cache of their own.
func TestAttestationLookupAfterRebuild(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 12)
	h.run(t.Context(), 200)
	rm := openRM(t, t.TempDir(), store, nil)
	runRM(t, rm)
	waitHead(t, rm, store)
	var number string
	for _, c := range h.companies {
		if as := c.Attestations(); len(as) > 0 {
			number = as[0].Number.String()
			break
		}
	}
	_, _, before, err := rm.AttestationJSON(t.Context(), number)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rm.Rebuild(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	_, _, after, err := rm.AttestationJSON(t.Context(), number)
	if err != nil || string(after) != string(before) {
		t.Fatalf("after rebuild: %s %v, want %s", after, err, before)
	}
	if g := rm.cur.Load(); g.attestations.lru.Len() != 1 {
		t.Fatalf("the new read models' cache holds %d entries, want the one looked up", g.attestations.lru.Len())
	}
}

func TestAttestationCacheFillRace(t *testing.T) {
	c := newAttestationCache(10)
	e := c.start()
	c.invalidate([]string{"A"}) // a commit between the query and its fill
	c.fill(e, "A", cachedAttestation{view: []byte(`old`)})
	if _, ok := c.get("A"); ok {
		t.Fatal("a fill that raced a commit was cached")
	}
	c.fill(c.start(), "A", cachedAttestation{view: []byte(`new`)})
	if a, ok := c.get("A"); !ok || string(a.view) != "new" {
		t.Fatalf("a fill with no commit meanwhile: %q %v", a.view, ok)
	}
	c.invalidate([]string{"A"})
	if _, ok := c.get("A"); ok {
		t.Fatal("invalidate left the entry")
	}
	none := newAttestationCache(-1)
	none.fill(none.start(), "A", cachedAttestation{})
	if _, ok := none.get("A"); ok {
		t.Fatal("a disabled cache cached")
	}
}
