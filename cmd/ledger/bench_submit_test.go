package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

var submitRateLine = regexp.MustCompile(`loan requests: (\d+) in [^:]+: (\d+)/s`)

// BenchmarkSubmit measures, on one `ledger serve` process in one run,
// loan requests through the batch endpoint (`ledger submit` of a
// generated file of 20,000 workload requests) and through single POSTs
// (`ledger bench requests`, 64 clients, the same count), as clients from
// outside.
//
//	go test -run '^$' -bench Submit -benchtime 1x ./cmd/ledger/
func BenchmarkSubmit(b *testing.B) {
	const count = 20000
	dir := b.TempDir()
	data := filepath.Join(dir, "data")
	in := serveOne(b, dir, data)
	keys := filepath.Join(data, "keys")

	file := filepath.Join(dir, "requests.csv")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	writeWorkloadCSV(b, f, count, 20201)
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	out, err := run(b, "submit", "--server", in.url, "--keys-dir", keys, "--file", file)
	if err != nil {
		b.Fatalf("submit: %v\n%s", err, out)
	}
	b.Logf("ledger submit --file requests.csv (%d lines):\n%s", count, out)
	m := submitRateLine.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no rate in:\n%s", out)
	}
	batchRate, _ := strconv.ParseFloat(m[2], 64)

	out, err = run(b, "bench", "requests", "--server", in.url, "--keys-dir", keys,
		"--count", strconv.Itoa(count), "--clients", "64", "--idempotency-keys")
	if err != nil {
		b.Fatalf("bench requests: %v\n%s", err, out)
	}
	b.Logf("ledger bench requests --count %d --clients 64:\n%s", count, out)
	m = rateLine.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no rate in:\n%s", out)
	}
	singleRate, _ := strconv.ParseFloat(m[2], 64)

	// The same file again: nothing new, answered from the keys.
	out, err = run(b, "submit", "--server", in.url, "--keys-dir", keys, "--file", file)
	if err != nil {
		b.Fatalf("submit again: %v\n%s", err, out)
	}
	b.Logf("the same file again:\n%s", out)
	m = submitRateLine.FindStringSubmatch(out)
	againRate, _ := strconv.ParseFloat(m[2], 64)

	b.ReportMetric(batchRate, "batch-req/s")
	b.ReportMetric(singleRate, "single-req/s")
	b.ReportMetric(againRate, "resubmit-req/s")
	b.ReportMetric(0, "ns/op")
}
