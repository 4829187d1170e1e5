package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// `ledger report security` writes the report of a period of real
// activity (`ledger demo`) to a file, as JSON or as a printable page.
func TestReportSecurityWritesTheReportOfADemoRun(t *testing.T) {
	dir := t.TempDir()
	server, _ := startServer(t, dir)
	from := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	if out, err := run(t, "demo", "--server", server, "--data-dir", dir, "--companies", "40", "--concurrency", "4"); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	to := time.Now().UTC().Add(time.Minute).Format(time.RFC3339)
	outDir := t.TempDir()
	jsonFile, htmlFile := filepath.Join(outDir, "report.json"), filepath.Join(outDir, "report.html")
	out, err := run(t, "report", "security", "--server", server, "--data-dir", dir, "--from", from, "--to", to, "--out", jsonFile)
	if err != nil || !strings.Contains(out, "wrote the security report") {
		t.Fatalf("report: %v\n%s", err, out)
	}
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Summary struct {
			Entries       int `json:"entries"`
			ServiceStarts int `json:"serviceStarts"`
		} `json:"summary"`
		Integrity struct {
			Journal struct {
				OK bool `json:"ok"`
			} `json:"journal"`
			Ledger struct {
				OK       bool  `json:"ok"`
				TreeSize int64 `json:"treeSize"`
			} `json:"ledger"`
		} `json:"integrity"`
		Findings []struct {
			ID string `json:"id"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	if rep.Summary.ServiceStarts != 1 || rep.Summary.Entries < 2 || !rep.Integrity.Journal.OK || !rep.Integrity.Ledger.OK ||
		rep.Integrity.Ledger.TreeSize < 40 || len(rep.Findings) < 4 {
		t.Errorf("report: %s", data)
	}
	if fi, err := os.Stat(jsonFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("report file: %v %v", fi.Mode(), err)
	}
	if out, err := run(t, "report", "security", "--server", server, "--data-dir", dir, "--from", from, "--to", to, "--out", htmlFile, "--format", "html"); err != nil {
		t.Fatalf("report html: %v\n%s", err, out)
	}
	page, err := os.ReadFile(htmlFile)
	if err != nil || !strings.HasPrefix(string(page), "<!DOCTYPE html>") || !strings.Contains(string(page), "Constats ouverts") {
		t.Fatalf("page: %v\n%.300s", err, page)
	}
	for _, bad := range [][]string{
		{"--from", from, "--out", jsonFile},
		{"--from", from, "--to", to},
		{"--from", from, "--to", to, "--out", jsonFile, "--format", "pdf"},
		{"--from", to, "--to", from, "--out", jsonFile},
	} {
		args := append([]string{"report", "security", "--server", server, "--data-dir", dir}, bad...)
		if _, err := run(t, args...); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want a one-line error", bad, err)
		}
	}
}
