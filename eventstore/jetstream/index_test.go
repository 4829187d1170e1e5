package jetstream_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
)

// The attestation index is a register of its own: a number claimed there
// is found by Lookup (after a restart too), is unknown to the idempotency
// register, and both buckets keep their persisted names.
func TestAttestationIndex(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openStore(t, dir)
	index, err := s.AttestationIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.IdempotencyKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = "PGE-7KQ2-9XWM-HT3P-5DQ1"
	if _, ok, err := index.Lookup(ctx, n); err != nil || ok {
		t.Fatalf("unclaimed number: found %v, %v", ok, err)
	}
	if first, err := index.Claim(ctx, n, "company-732829320"); err != nil || first != "company-732829320" {
		t.Fatalf("claim: %q %v", first, err)
	}
	if first, err := index.Claim(ctx, n, "company-552100554"); err != nil || first != "company-732829320" {
		t.Fatalf("second claim by another stream: %q %v, want the first stream", first, err)
	}
	if _, ok, err := keys.Lookup(ctx, n); err != nil || ok {
		t.Fatalf("the number leaked into the idempotency register: %v %v", ok, err)
	}
	if _, _, err := index.Lookup(ctx, "bad key"); err == nil {
		t.Fatal("a key with a space was looked up")
	}
	_ = s.Close()

	s2 := openStore(t, dir)
	index2, err := s2.AttestationIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stream, ok, err := index2.Lookup(ctx, n); err != nil || !ok || stream != "company-732829320" {
		t.Fatalf("after restart: %q %v %v", stream, ok, err)
	}
	for _, bucket := range []string{"KV_" + jetstream.KeysBucket, "KV_" + jetstream.AttestationsBucket} {
		if !hasDir(t, dir, bucket) {
			t.Errorf("no stream directory %s under %s", bucket, dir)
		}
	}
	if jetstream.KeysBucket != "LEDGER_IDEMPOTENCY" || jetstream.AttestationsBucket != "LEDGER_ATTESTATIONS" {
		t.Fatal("a persisted bucket name changed")
	}
}

// hasDir reports whether a directory of that name lies under root.
func hasDir(t *testing.T, root, name string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == name {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// BenchmarkIndexClaims indexes distinct attestation numbers with 64
// concurrent writers, as the command handlers do after each attestation;
// it reports claims/s.
func BenchmarkIndexClaims(b *testing.B) {
	s := openStore(b, b.TempDir())
	ctx := context.Background()
	reg, err := s.AttestationIndex(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := reg.Claim(ctx, fmt.Sprintf("PGE-%d", i), "company-732829320"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "claims/s")
}

// The index is an index, not a record: its bucket is persisted
// asynchronously, so that an entry does not cost another synchronous write
// beside every append.
func TestAttestationIndexIsPersistedAsynchronously(t *testing.T) {
	ctx := context.Background()
	seed, _ := newUser(t)
	s := openStore(t, t.TempDir(), withNKey(seed))
	if _, err := s.AttestationIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AttestationIndex(ctx); err != nil {
		t.Fatalf("opened twice: %v", err)
	}
	nc, err := connectAs(t, s.ClientURL(), seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := njs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "KV_"+jetstream.AttestationsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.CachedInfo().Config.PersistMode; mode != njs.AsyncPersistMode {
		t.Fatalf("the index's stream persists in mode %v", mode)
	}
}

// A setting is fixed by the first claim, whoever makes it.
func TestSettingsAreFixedOnce(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	set, err := s.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := set.Claim(ctx, "provenance-from", "12"); err != nil || v != "12" {
		t.Fatalf("first claim: %q %v", v, err)
	}
	if v, err := set.Claim(ctx, "provenance-from", "40"); err != nil || v != "12" {
		t.Fatalf("second claim: %q %v, want the first value", v, err)
	}
}
