package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkDeployment measures, in one run on one machine, loan requests
// through `ledger serve` processes (with `ledger bench requests`, as
// clients from outside) on one embedded instance, and on two instances
// of one deployment on a 3-node cluster with R3; and the checkpoint lag:
// how long after a request is acknowledged a signed checkpoint covers it.
//
//	go test -run '^$' -bench Deployment -benchtime 1x ./cmd/ledger/
func BenchmarkDeployment(b *testing.B) {
	const count, clients = 8000, 64
	b.Run("embedded-one-instance", func(b *testing.B) {
		dir := b.TempDir()
		data := filepath.Join(dir, "data")
		in := serveOne(b, dir, data)
		logf := in.log
		benchRequests(b, []string{in.url}, filepath.Join(data, "keys"), count, clients, logf.Name())
	})
	b.Run("cluster-R3-two-instances", func(b *testing.B) {
		d := startDeployment(b, false)
		benchRequests(b, []string{d.instances[0].url, d.instances[1].url}, d.keysDir, count, clients,
			d.instances[0].log.Name(), d.instances[1].log.Name())
	})
}

var rateLine = regexp.MustCompile(`: (\d+) in [^:]+: (\d+)/s`)

// benchRequests runs `ledger bench requests` against servers and reports
// its rate, then measures the checkpoint lag of single requests.
func benchRequests(b *testing.B, servers []string, keysDir string, count, clients int, logs ...string) {
	b.Helper()
	out, err := run(b, "bench", "requests", "--server", strings.Join(servers, ","), "--keys-dir", keysDir,
		"--count", strconv.Itoa(count), "--clients", strconv.Itoa(clients), "--idempotency-keys")
	if err != nil {
		for _, l := range logs {
			data, _ := os.ReadFile(l)
			if len(data) > 4000 {
				data = data[len(data)-4000:]
			}
			b.Logf("%s ends:\n%s", l, data)
		}
		b.Fatalf("bench requests: %v\n%s", err, out)
	}
	m := rateLine.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no rate in:\n%s", out)
	}
	rate, _ := strconv.ParseFloat(m[2], 64)
	b.ReportMetric(rate, "requests/s")
	b.Logf("%s", out)

	// Checkpoint lag: a request, then the first checkpoint that covers it.
	bank, err := run(b, "token", "issue", "--keys-dir", keysDir, "--role", "bank", "--subject", "30004")
	if err != nil {
		b.Fatal(err)
	}
	auditor, err := run(b, "token", "issue", "--keys-dir", keysDir, "--role", "auditor", "--subject", "bench")
	if err != nil {
		b.Fatal(err)
	}
	bank, auditor = strings.TrimSpace(bank), strings.TrimSpace(auditor)
	var lags []time.Duration
	for i := range 5 {
		var v struct{ Position uint64 }
		if code := post(servers[i%len(servers)]+"/v1/loan-requests", bank, fmt.Sprintf("lag-%d-%d", time.Now().UnixNano(), i), requestBody(luhnSIREN(5_000_000+i), 1000000), &v); code != http.StatusCreated {
			b.Fatalf("request for the checkpoint lag: %d", code)
		}
		acked := time.Now()
		for {
			// Waits up to 5 s for a checkpoint covering the position.
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/ledger/checkpoints?minPosition=%d&limit=1", servers[(i+1)%len(servers)], v.Position), nil)
			req.Header.Set("Authorization", "Bearer "+auditor)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Since(acked) > time.Minute {
				b.Fatal("no checkpoint covered the request within a minute")
			}
		}
		lags = append(lags, time.Since(acked))
	}
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Milliseconds()), "checkpoint-lag-ms")
	b.ReportMetric(0, "ns/op")
}
