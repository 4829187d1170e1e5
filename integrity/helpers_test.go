package integrity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/memstore"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testConfig returns a config in a fresh directory; huge interval so that
// tests decide when checkpoints are published, unless they change it.
func testConfig(t testing.TB) Config {
	t.Helper()
	return Config{Dir: t.TempDir(), Origin: "test.example/ledger", CheckpointInterval: time.Hour, Logger: quiet}
}

func openLog(t testing.TB, cfg Config) *Log {
	t.Helper()
	l, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// newEvents returns n plausible new events.
func newEvents(rng *rand.Rand, seq, n int) []eventstore.NewEvent {
	out := make([]eventstore.NewEvent, n)
	for i := range out {
		k := seq + i
		data, _ := json.Marshal(map[string]any{
			"number":      fmt.Sprintf("PGE-2020-%07d", k),
			"amountCents": rng.Int64N(1e10),
			"bank":        []string{"BNP", "SG", "CA", "LCL"}[rng.IntN(4)],
			"note":        "<b>& ünïcödé</b>",
		})
		out[i] = eventstore.NewEvent{
			ID:            fmt.Sprintf("evt-%08d-%d", k, rng.Uint32()),
			Type:          "attestation.issued",
			SchemaVersion: 1,
			OccurredAt:    time.Date(2020, 4, 1, 9, 0, 0, 0, time.FixedZone("CEST", 7200)).Add(time.Duration(k) * time.Second),
			Actor:         eventstore.Actor{Role: "bank", ID: "bank-1"},
			CorrelationID: fmt.Sprintf("corr-%d", k),
			Data:          data,
		}
	}
	return out
}

// fill appends n events to the store, over a few streams, in appends of
// up to 50.
func fill(t testing.TB, s eventstore.Store, rng *rand.Rand, n int) {
	t.Helper()
	ctx := context.Background()
	head, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for done := 0; done < n; {
		k := min(n-done, 1+rng.IntN(50))
		stream := fmt.Sprintf("company-%d", rng.IntN(20))
		if _, err := s.Append(ctx, stream, eventstore.Any(), newEvents(rng, int(head)+done, k)...); err != nil {
			t.Fatalf("append: %v", err)
		}
		done += k
	}
}

func newStore(t testing.TB, rng *rand.Rand, n int) *memstore.Store {
	t.Helper()
	s := memstore.New()
	t.Cleanup(func() { _ = s.Close() })
	fill(t, s, rng, n)
	return s
}

func readAll(t testing.TB, s eventstore.Store) []eventstore.Envelope {
	t.Helper()
	var out []eventstore.Envelope
	for {
		evs, err := s.ReadAll(context.Background(), uint64(len(out))+1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
	}
}

// refRoots returns the root of every prefix of the events' entries,
// computed by github.com/transparency-dev/merkle: roots[n] is the root of
// the first n leaves.
func refRoots(t testing.TB, envs []eventstore.Envelope) [][]byte {
	t.Helper()
	h := rfc6962.DefaultHasher
	rf := compact.RangeFactory{Hash: h.HashChildren}
	r := rf.NewEmptyRange(0)
	roots := [][]byte{h.EmptyRoot()}
	for _, env := range envs {
		e, err := Entry(env)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Append(h.HashLeaf(e), nil); err != nil {
			t.Fatal(err)
		}
		root, err := r.GetRootHash(nil)
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	return roots
}

func newRand(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0))
}

func fileSize(t testing.TB, dir, name string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
