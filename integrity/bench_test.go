package integrity

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/eventstore/memstore"
)

// benchEnvelope is a plausible attestation event of about 500 bytes as an
// entry.
func benchEnvelope(pos uint64) eventstore.Envelope {
	company := pos%5000 + 300000000
	return eventstore.Envelope{
		Position:      pos,
		Stream:        fmt.Sprintf("company-%d", company),
		Version:       pos/5000 + 1,
		Type:          "attestation.issued",
		SchemaVersion: 1,
		ID:            fmt.Sprintf("01HZX%021d", pos),
		OccurredAt:    time.Date(2020, 4, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(pos) * time.Millisecond),
		Actor:         eventstore.Actor{Role: "bank", ID: "bank-30004"},
		CorrelationID: fmt.Sprintf("req-%d", pos),
		CausationID:   fmt.Sprintf("cmd-%d", pos),
		Data: fmt.Appendf(nil, `{"number":"PGE-2020-%08d","siren":"%d","bank":"30004","amountCents":%d,"guaranteedCents":%d,"quota":90,"requestedOn":"2020-04-01","region":"84","sector":"47.11Z","size":"PME"}`,
			pos, company, pos*1000+50000000, (pos*1000+50000000)*9/10),
	}
}

func appendBench(tb testing.TB, l *Log, from, to uint64, batch int) {
	tb.Helper()
	ctx := context.Background()
	envs := make([]eventstore.Envelope, 0, batch)
	for p := from; p <= to; p++ {
		envs = append(envs, benchEnvelope(p))
		if len(envs) == batch || p == to {
			if _, err := l.Append(ctx, envs...); err != nil {
				tb.Fatal(err)
			}
			envs = envs[:0]
		}
	}
}

// BenchmarkInclusionProof1M measures inclusion proofs at random leaves of a
// tree of 1,000,000 leaves on disk, reporting the 99th percentile latency.
func BenchmarkInclusionProof1M(b *testing.B) {
	const n = 1_000_000
	cfg := testConfig(b)
	l := openLog(b, cfg)
	appendBench(b, l, 1, n, 1<<16)
	size, root := l.Size()
	if size != n {
		b.Fatalf("size %d", size)
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var durs []time.Duration
	for b.Loop() {
		i := rng.Int64N(n)
		start := time.Now()
		p, err := l.InclusionProof(ctx, i, n)
		durs = append(durs, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(durs) == 1 {
			if err := tlog.CheckRecord(p.Hashes, n, root, i, p.LeafHash); err != nil {
				b.Fatal(err)
			}
		}
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds())/1e3, "p50-µs")
}

// BenchmarkAppend measures appending leaves to the tree, each batch a
// durable commit (fsync of the hashes and of the commit record).
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 64, 1024} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			l := openLog(b, testConfig(b))
			envs := make([]eventstore.Envelope, batch)
			for i := range envs {
				envs[i] = benchEnvelope(uint64(i) + 1)
			}
			ctx := context.Background()
			var pos uint64
			for b.Loop() {
				for i := range envs {
					envs[i].Position = pos + uint64(i) + 1
				}
				if _, err := l.Append(ctx, envs...); err != nil {
					b.Fatal(err)
				}
				pos += uint64(batch)
			}
			b.ReportMetric(float64(pos)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkFollow measures Run catching up with a store of 50,000 events:
// the in-memory store (the integrity side's own cost) and the embedded
// JetStream store (the real backend's subscription included).
func BenchmarkFollow(b *testing.B) {
	b.Run("store=memstore", func(b *testing.B) {
		store := memstore.New()
		defer store.Close()
		benchFollow(b, store)
	})
	b.Run("store=jetstream", func(b *testing.B) {
		store, err := jetstream.Open(context.Background(), jetstream.Config{DataDir: b.TempDir(), Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		benchFollow(b, store)
	})
}

func benchFollow(b *testing.B, store eventstore.Store) {
	const n = 50_000
	ctx := context.Background()
	for p := uint64(1); p <= n; p += 100 {
		evs := make([]eventstore.NewEvent, 100)
		for i := range evs {
			e := benchEnvelope(p + uint64(i))
			evs[i] = eventstore.NewEvent{ID: e.ID, Type: e.Type, SchemaVersion: 1, OccurredAt: e.OccurredAt, Actor: e.Actor, CorrelationID: e.CorrelationID, Data: e.Data}
		}
		if _, err := store.Append(ctx, fmt.Sprintf("company-%d", p%977), eventstore.Any(), evs...); err != nil {
			b.Fatal(err)
		}
	}
	var events int
	for b.Loop() {
		cfg := testConfig(b)
		cfg.CheckpointInterval = 10 * time.Millisecond
		l := openLog(b, cfg)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- l.Run(runCtx, store) }()
		if _, err := l.WaitCheckpoint(ctx, n); err != nil {
			b.Fatal(err)
		}
		cancel()
		<-done
		_ = l.Close()
		events += n
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerify measures offline verification of 200,000 entries against
// one checkpoint.
func BenchmarkVerify(b *testing.B) {
	const n = 200_000
	l := openLog(b, testConfig(b))
	var entries bytes.Buffer
	for p := uint64(1); p <= n; p++ {
		e, err := Entry(benchEnvelope(p))
		if err != nil {
			b.Fatal(err)
		}
		entries.Write(e)
		entries.WriteByte('\n')
	}
	appendBench(b, l, 1, n, 1<<16)
	c, err := l.Checkpoint(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(entries.Len()))
	var verified int64
	for b.Loop() {
		res, err := Verify(bytes.NewReader(entries.Bytes()), c.Note, l.VerifierKey(), nil)
		if err != nil {
			b.Fatal(err)
		}
		verified += res.Verified
	}
	b.ReportMetric(float64(verified)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(entries.Len())/n, "bytes/entry")
}

// BenchmarkCheckpointLag appends to the embedded JetStream store at 25,000
// events/s (appends of 25 events, 1,000 a second, from 32 writers) for
// three seconds while Run follows with the default checkpoint interval and
// commit delay, and reports how long each append waited until a signed
// checkpoint covered it (p50, p99, max) and the rate reached.
func BenchmarkCheckpointLag(b *testing.B) {
	store, err := jetstream.Open(context.Background(), jetstream.Config{DataDir: b.TempDir(), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	const perAppend, appendsPerSecond, seconds, writers = 25, 1000, 3, 32
	var lags []time.Duration
	var events int
	var elapsed time.Duration
	for b.Loop() {
		cfg := testConfig(b)
		cfg.CheckpointInterval, cfg.CommitDelay = DefaultCheckpointInterval, DefaultCommitDelay
		l := openLog(b, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx, store) }()
		var mu sync.Mutex
		var wg, waits sync.WaitGroup
		start := time.Now()
		for w := range writers {
			wg.Go(func() {
				for i := w; i < appendsPerSecond*seconds; i += writers {
					if wait := time.Until(start.Add(time.Duration(i) * time.Second / appendsPerSecond)); wait > 0 {
						time.Sleep(wait)
					}
					evs := make([]eventstore.NewEvent, perAppend)
					for k := range evs {
						e := benchEnvelope(uint64(i*perAppend + k + 1))
						evs[k] = eventstore.NewEvent{ID: fmt.Sprintf("lag-%d-%d-%d", b.N, i, k), Type: e.Type, SchemaVersion: 1, OccurredAt: e.OccurredAt, Data: e.Data}
					}
					res, err := store.Append(ctx, fmt.Sprintf("company-%d", i%997), eventstore.Any(), evs...)
					if err != nil {
						b.Error(err)
						return
					}
					at := time.Now()
					waits.Go(func() {
						if _, err := l.WaitCheckpoint(ctx, int64(res.Position)); err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						lags = append(lags, time.Since(at))
						mu.Unlock()
					})
				}
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
		waits.Wait()
		events += perAppend * appendsPerSecond * seconds
		cancel()
		<-done
		_ = l.Close()
	}
	slices.Sort(lags)
	if len(lags) == 0 {
		b.Fatal("no sample")
	}
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lags[len(lags)/2].Milliseconds()), "p50-lag-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Milliseconds()), "p99-lag-ms")
	b.ReportMetric(float64(lags[len(lags)-1].Milliseconds()), "max-lag-ms")
}
