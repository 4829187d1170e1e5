package jetstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
)

// Run the benchmarks with, e.g.:
//
//	go test -run '^$' -bench . -benchtime 20000x ./eventstore/jetstream/
//
// Every figure is reported as events/s and p99 append latency (ms).

var benchData = json.RawMessage(`{"siren":"732829320","bank":"30004","amount":"150000.00","currency":"EUR",` +
	`"guaranteeRate":"0.90","maturityMonths":72,"purpose":"treasury","attestationNumber":"PGE-2025-000123456",` +
	`"issuedBy":{"role":"bank","id":"30004-agent-7"},"notes":"benchmark event of a realistic size for the ledger"}`)

var benchSeq atomic.Uint64

func benchEvent() eventstore.NewEvent {
	return eventstore.NewEvent{
		ID:            "bench-" + strconv.FormatUint(benchSeq.Add(1), 10) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		Type:          "attestation.issued",
		SchemaVersion: 1,
		OccurredAt:    time.Now(),
		Actor:         eventstore.Actor{Role: "bank", ID: "30004"},
		CorrelationID: "corr",
		Data:          benchData,
	}
}

// runWriters runs n appends split over writers, each calling op, and
// reports events/s and the p99 latency of op.
func runWriters(b *testing.B, writers int, op func(w, i int) (events int, err error)) {
	b.Helper()
	runWritersN(b, writers, b.N, op)
}

// runWritersN is runWriters for total operations rather than b.N.
func runWritersN(b *testing.B, writers, total int, op func(w, i int) (events int, err error)) {
	b.Helper()
	per := max(1, total/writers)
	lat := make([][]time.Duration, writers)
	var events atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		lat[w] = make([]time.Duration, 0, per)
		wg.Go(func() {
			for i := range per {
				t0 := time.Now()
				n, err := op(w, i)
				if err != nil {
					b.Errorf("writer %d op %d: %v", w, i, err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
				events.Add(int64(n))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	}
	b.ReportMetric(float64(events.Load())/elapsed.Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("distinct/writers=%d", writers), func(b *testing.B) {
			s := openStore(b, b.TempDir(), benchConfig)
			versions := make([]uint64, writers)
			runWriters(b, writers, func(w, _ int) (int, error) {
				res, err := s.Append(context.Background(), fmt.Sprintf("company-%d", w), eventstore.Exact(versions[w]), benchEvent())
				versions[w] = res.Version
				return 1, err
			})
			st := s.Stats()
			b.ReportMetric(float64(st.Events)/float64(max(1, st.Publishes)), "events/batch")
		})
	}
	// A loan request appends three events at once (submitted, assessed,
	// issued): the ledger's real append, beside the one-event ones.
	b.Run("distinct-3-events/writers=64", func(b *testing.B) {
		s := openStore(b, b.TempDir(), benchConfig)
		versions := make([]uint64, 64)
		runWriters(b, 64, func(w, _ int) (int, error) {
			res, err := s.Append(context.Background(), fmt.Sprintf("company-%d", w), eventstore.Exact(versions[w]), benchEvent(), benchEvent(), benchEvent())
			versions[w] = res.Version
			return 3, err
		})
		st := s.Stats()
		b.ReportMetric(float64(st.Events)/float64(max(1, st.Publishes)), "events/batch")
	})
	b.Run("hot-stream/writers=64", func(b *testing.B) {
		s := openStore(b, b.TempDir())
		runWriters(b, 64, func(_, _ int) (int, error) {
			_, err := s.Append(context.Background(), "company-hot", eventstore.Any(), benchEvent())
			return 1, err
		})
		st := s.Stats()
		b.ReportMetric(float64(st.Events)/float64(max(1, st.Publishes)), "events/batch")
	})
	b.Run("hot-stream-exact-retry/writers=8", func(b *testing.B) {
		// Command handlers' way: read the stream, decide, append with the
		// version read, and start over on a conflict. At most 500
		// successful appends: most attempts conflict.
		s := openStore(b, b.TempDir())
		ctx := context.Background()
		var conflicts atomic.Int64
		runWritersN(b, 8, min(b.N, 500), func(_, _ int) (int, error) {
			for {
				res, err := s.ReadStream(ctx, "company-hot", 0)
				if err != nil {
					return 0, err
				}
				_, err = s.Append(ctx, "company-hot", eventstore.Exact(uint64(len(res))), benchEvent())
				if err == nil {
					return 1, nil
				}
				if !errors.Is(err, eventstore.ErrConcurrency) {
					return 0, err
				}
				conflicts.Add(1)
			}
		})
		b.ReportMetric(float64(conflicts.Load())/float64(min(b.N, 500)), "conflicts/append")
	})
}

// BenchmarkAppendCluster compares, in one run, the ledger's real append
// (three events, 64 writers on distinct streams) on the embedded server
// and on a 3-node cluster of nats-server processes with R3 (acknowledged
// once on a quorum, every node syncing every write):
//
//	go test -run '^$' -bench AppendCluster -benchtime 20000x ./eventstore/jetstream/
func BenchmarkAppendCluster(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) *jetstream.Store
	}{
		{"embedded", func(b *testing.B) *jetstream.Store { return openStore(b, b.TempDir(), benchConfig) }},
		{"cluster-R3", func(b *testing.B) *jetstream.Store { _, s := clusterStore(b, false); return s }},
	}
	for _, st := range stores {
		b.Run(st.name+"/distinct-3-events/writers=64", func(b *testing.B) {
			s := st.open(b)
			versions := make([]uint64, 64)
			runWriters(b, 64, func(w, _ int) (int, error) {
				res, err := s.Append(context.Background(), fmt.Sprintf("company-%d", w), eventstore.Exact(versions[w]), benchEvent(), benchEvent(), benchEvent())
				versions[w] = res.Version
				return 3, err
			})
			stats := s.Stats()
			b.ReportMetric(float64(stats.Events)/float64(max(1, stats.Publishes)), "events/batch")
		})
	}
}

// benchConfig lets LEDGER_BENCH_INFLIGHT and LEDGER_BENCH_BATCH override
// the group commit's settings, to explore them.
func benchConfig(c *jetstream.Config) {
	if v, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_INFLIGHT")); err == nil {
		c.MaxInflightBatches = v
	}
	if v, err := strconv.Atoi(os.Getenv("LEDGER_BENCH_BATCH")); err == nil {
		c.MaxBatchMessages = v
	}
	if v, err := time.ParseDuration(os.Getenv("LEDGER_BENCH_DELAY")); err == nil {
		c.MaxBatchDelay = v
	}
}

// BenchmarkRawPublish is the baseline: synchronous JetStream publishes on
// an embedded server with sync always, one message per publish, each with
// an expected subject sequence, no batching.
func BenchmarkRawPublish(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			ns, err := server.NewServer(&server.Options{JetStream: true, StoreDir: b.TempDir(), SyncAlways: true, DontListen: true, NoSigs: true, NoLog: true})
			if err != nil {
				b.Fatal(err)
			}
			go ns.Start()
			if !ns.ReadyForConnections(10 * time.Second) {
				b.Fatal("server not ready")
			}
			defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
			nc, err := nats.Connect(ns.ClientURL(), nats.InProcessServer(ns))
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			js, _ := njs.New(nc)
			if _, err := js.CreateStream(context.Background(), njs.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"}, Storage: njs.FileStorage}); err != nil {
				b.Fatal(err)
			}
			payload, _ := json.Marshal(map[string]any{"data": benchData, "id": "x", "type": "attestation.issued"})
			seqs := make([]uint64, writers)
			runWriters(b, writers, func(w, _ int) (int, error) {
				m := nats.NewMsg("raw.company." + strconv.Itoa(w))
				m.Data = payload
				m.Header.Set("Nats-Msg-Id", benchEvent().ID)
				m.Header.Set("Nats-Expected-Last-Subject-Sequence", strconv.FormatUint(seqs[w], 10))
				ack, err := js.PublishMsg(context.Background(), m)
				if err == nil {
					seqs[w] = ack.Sequence
				}
				return 1, err
			})
		})
	}
}

// BenchmarkRead reads the whole log, with ReadAll pages and with a
// subscription.
func BenchmarkRead(b *testing.B) {
	const total = 100_000
	s := openStore(b, b.TempDir())
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for range total / 64 / 4 {
				evs := []eventstore.NewEvent{benchEvent(), benchEvent(), benchEvent(), benchEvent()}
				if _, err := s.Append(ctx, fmt.Sprintf("company-%d", w), eventstore.Any(), evs...); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	head, err := s.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ReadAll-pages-of-10000", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for from := uint64(1); from <= head; {
				page, err := s.ReadAll(ctx, from, 10000)
				if err != nil {
					b.Fatal(err)
				}
				n += len(page)
				from = page[len(page)-1].Position + 1
			}
			if uint64(n) != head {
				b.Fatalf("read %d events, want %d", n, head)
			}
		}
		b.ReportMetric(float64(head)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("Subscribe", func(b *testing.B) {
		for b.Loop() {
			sub, err := s.Subscribe(ctx, 1)
			if err != nil {
				b.Fatal(err)
			}
			for i := uint64(1); i <= head; i++ {
				e, err := sub.Next(ctx)
				if err != nil || e.Position != i {
					b.Fatalf("next: %d %v", e.Position, err)
				}
			}
			_ = sub.Close()
		}
		b.ReportMetric(float64(head)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
