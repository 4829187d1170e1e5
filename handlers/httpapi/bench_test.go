package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/workload"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// benchService starts the whole service for a benchmark.
func benchService(b *testing.B) *service { return startService(b, b.TempDir()) }

// BenchmarkLoanRequestsHTTP posts workload loan requests through HTTP with
// 64 concurrent clients against the real embedded store, durable; it
// reports requests/s, p50 and p99 latency, and the projection lag at the
// end (the time until the read models reach the last position).
func BenchmarkLoanRequestsHTTP(b *testing.B) {
	s := benchService(b)
	const clients = 64
	g := workload.New(42)
	bodies := make([][]byte, b.N)
	tokens := map[string]string{}
	banks := make([]string, b.N)
	for i := range bodies {
		c := g.Company()
		r := g.Requests(c)[0]
		bodies[i], _ = json.Marshal(r.Body())
		banks[i] = r.BankCode
		if tokens[r.BankCode] == "" {
			tokens[r.BankCode] = s.token(domain.RoleBank, r.BankCode)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	lat := make([]time.Duration, b.N)
	var next, lastPos atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				req, _ := http.NewRequest("POST", s.http.URL+"/v1/loan-requests", bytes.NewReader(bodies[i]))
				req.Header.Set("Authorization", "Bearer "+tokens[banks[i]])
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var v projections.LoanRequestView
				err = json.NewDecoder(resp.Body).Decode(&v)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != 201 {
					b.Errorf("status %d: %v", resp.StatusCode, err)
					return
				}
				for {
					p := lastPos.Load()
					if int64(v.Position) <= p || lastPos.CompareAndSwap(p, int64(v.Position)) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if err := s.rm.WaitForPosition(b.Context(), uint64(lastPos.Load())); err != nil {
		b.Fatal(err)
	}
	lag := time.Since(start) - took
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/took.Seconds(), "req/s")
	b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(lag.Seconds()*1000, "projection-lag-ms")
}

// lookupFixture issues n attestations and returns their numbers with
// their owner bank's token.
func lookupFixture(b *testing.B, s *service, n int) (numbers, tokens []string) {
	g := workload.New(7)
	byBank := map[string]string{}
	var last uint64
	for len(numbers) < n {
		r := g.Requests(g.Company())[0]
		r.AmountCents = 1000
		if byBank[r.BankCode] == "" {
			byBank[r.BankCode] = s.token(domain.RoleBank, r.BankCode)
		}
		var v projections.LoanRequestView
		s.do("POST", "/v1/loan-requests", byBank[r.BankCode], r.Body()).json(b, &v)
		if v.Attestation != nil {
			numbers = append(numbers, v.Attestation.Number)
			tokens = append(tokens, byBank[r.BankCode])
			last = v.Position
		}
	}
	if err := s.rm.WaitForPosition(b.Context(), last); err != nil {
		b.Fatal(err)
	}
	return numbers, tokens
}

// lookups runs b.N attestation lookups with 64 clients, paced at rate
// per second (0: as fast as they go), and reports lookups/s and latency.
func lookups(b *testing.B, rate int) {
	s := benchService(b)
	const clients = 64
	numbers, tokens := lookupFixture(b, s, 2000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	lat := make([]time.Duration, b.N)
	jobs := make(chan int, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				k := i % len(numbers)
				req, _ := http.NewRequest("GET", s.http.URL+"/v1/attestations/"+numbers[k], nil)
				req.Header.Set("Authorization", "Bearer "+tokens[k])
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != 200 {
					b.Errorf("status %d: %s", resp.StatusCode, buf.String())
				}
			}
		}()
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if rate > 0 {
			if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
				time.Sleep(wait)
			}
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/took.Seconds(), "lookups/s")
	b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[b.N*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkStatusLookupHTTP: a bank checking its own attestations by
// number, as fast as 64 clients go.
func BenchmarkStatusLookupHTTP(b *testing.B) { lookups(b, 0) }

// BenchmarkStatusLookupAt5000PerSecond: the same, paced at 5,000
// lookups/s (the target load), for the latency at that load.
func BenchmarkStatusLookupAt5000PerSecond(b *testing.B) { lookups(b, 5000) }
