package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/workload"
)

// BenchmarkBatchSubmitHTTP posts workload loan requests through POST
// /v1/loan-requests/batch, 1,000 lines a call of one bank, 4 calls at once
// (a bank's default quota of batches), against the real embedded store,
// each line durable before it is answered; it reports loan requests/s.
// Compare with BenchmarkLoanRequestsHTTP (single POSTs) in the same run:
//
//	go test -run '^$' -bench 'BatchSubmitHTTP|LoanRequestsHTTP' -benchtime 20000x -cpuprofile cpu.out ./handlers/httpapi/
func BenchmarkBatchSubmitHTTP(b *testing.B) {
	s := benchService(b)
	const size, calls = 1000, 4
	g := workload.New(43)
	byBank := map[string][][]byte{}
	for i := 0; i < b.N; i++ {
		r := g.Requests(g.Company())[0]
		line, _ := json.Marshal(map[string]any{"idempotencyKey": fmt.Sprint("bench-", i), "request": r.Body()})
		byBank[r.BankCode] = append(byBank[r.BankCode], line)
	}
	type batch struct {
		token string
		body  []byte
		n     int
	}
	var batches []batch
	for bank, lines := range byBank {
		tok := s.token(domain.RoleBank, bank)
		for len(lines) > 0 {
			k := min(size, len(lines))
			batches = append(batches, batch{tok, append(bytes.Join(lines[:k], []byte("\n")), '\n'), k})
			lines = lines[k:]
		}
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	work := make(chan batch)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range calls {
		wg.Go(func() {
			for bt := range work {
				req, _ := http.NewRequest("POST", s.http.URL+"/v1/loan-requests/batch", bytes.NewReader(bt.body))
				req.Header.Set("Authorization", "Bearer "+bt.token)
				req.Header.Set("Content-Type", "application/x-ndjson")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					continue
				}
				n := 0
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					var a struct{ Status int }
					if json.Unmarshal(sc.Bytes(), &a) != nil || a.Status != http.StatusCreated {
						b.Errorf("line %d: %s", n+1, sc.Bytes())
					}
					n++
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || n != bt.n {
					b.Errorf("batch: %d, %d of %d lines", resp.StatusCode, n, bt.n)
				}
			}
		})
	}
	for _, bt := range batches {
		work <- bt
	}
	close(work)
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/took.Seconds(), "req/s")
}
