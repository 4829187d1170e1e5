package projections

import (
	"context"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/memstore"
)

// benchDecisions is how many decisions the benchmark history holds
// (PROJECTIONS_BENCH_DECISIONS overrides it): 48,000 make about 100,000
// events.
func benchDecisions() int {
	if n, err := strconv.Atoi(os.Getenv("PROJECTIONS_BENCH_DECISIONS")); err == nil && n > 0 {
		return n
	}
	return 48_000
}

var benchLog struct {
	once   sync.Once
	store  *memstore.Store
	events uint64
}

// benchStore returns the shared benchmark log, built once.
func benchStore(b *testing.B) (eventstore.Store, uint64) {
	benchLog.once.Do(func() {
		s := memstore.New()
		start := time.Now()
		newHistory(b, s, 42).run(context.WithoutCancel(b.Context()), benchDecisions())
		benchLog.store = s
		benchLog.events, _ = s.Head(context.WithoutCancel(b.Context()))
		b.Logf("benchmark log: %d events in %s", benchLog.events, time.Since(start))
	})
	return benchLog.store, benchLog.events
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRates reports events/s (wall clock, what the machine gave) and
// CPU µs/event (what it cost, whatever else the shared machine ran).
func reportRates(b *testing.B, events uint64, cpu time.Duration) {
	total := float64(events) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/total, "cpu-µs/event")
}

// BenchmarkApply measures the projectors alone: already decoded events
// applied in batches of 2048 to a fresh read-model file.
func BenchmarkApply(b *testing.B) {
	store, events := benchStore(b)
	envs, err := store.ReadAll(b.Context(), 1, int(events))
	if err != nil {
		b.Fatal(err)
	}
	items := make([]Item, len(envs))
	for i, env := range envs {
		items[i].Envelope = env
		items[i].Event, items[i].Err = Decode(env)
	}
	cpu := time.Duration(0)
	for b.Loop() {
		b.StopTimer()
		rm := openRM(b, b.TempDir(), store, nil)
		a := newApplier(rm.cur.Load(), rm.cfg.CacheRows)
		c0 := cpuTime()
		b.StartTimer()
		for i := 0; i < len(items); i += 2048 {
			if _, err := a.apply(b.Context(), items[i:min(i+2048, len(items))], strict); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		cpu += cpuTime() - c0
		_ = rm.Close()
		b.StartTimer()
	}
	reportRates(b, events, cpu)
}

// BenchmarkDecode measures decoding the log's events.
func BenchmarkDecode(b *testing.B) {
	store, events := benchStore(b)
	envs, err := store.ReadAll(b.Context(), 1, int(events))
	if err != nil {
		b.Fatal(err)
	}
	c0 := cpuTime()
	for b.Loop() {
		for _, env := range envs {
			if _, err := Decode(env); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRates(b, events, cpuTime()-c0)
}

// BenchmarkRebuild measures a full rebuild of every read model from the
// log into a fresh SQLite file, in events per second.
func BenchmarkRebuild(b *testing.B) {
	store, events := benchStore(b)
	rm := openRM(b, b.TempDir(), store, nil)
	c0 := cpuTime()
	for b.Loop() {
		res, err := rm.Rebuild(b.Context(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if res.Events != events {
			b.Fatalf("rebuilt %d events, want %d", res.Events, events)
		}
	}
	reportRates(b, events, cpuTime()-c0)
}

// BenchmarkLiveCatchUp measures the live projector (watermill router,
// Subscriber, retries and dead-letter middleware) catching up with the
// whole log from an empty read model, in events per second.
func BenchmarkLiveCatchUp(b *testing.B) {
	store, events := benchStore(b)
	cpu := time.Duration(0)
	for b.Loop() {
		b.StopTimer()
		rm := openRM(b, b.TempDir(), store, nil)
		c0 := cpuTime()
		b.StartTimer()
		stop := runRM(b, rm)
		waitHead(b, rm, store)
		b.StopTimer()
		cpu += cpuTime() - c0
		stop()
		_ = rm.Close()
		b.StartTimer()
	}
	reportRates(b, events, cpu)
}
