package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/journal"
)

// The service journals its start with its non-secret configuration and
// its stop, in a journal whose export verifies offline; the journal's
// state is part of readiness.
func TestServiceJournalsStartConfigAndStop(t *testing.T) {
	dataDir := t.TempDir()
	cfg := app.Config{DataDir: dataDir, Logger: quiet(), JournalRetention: 48 * time.Hour}
	a, err := app.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a, err = app.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// start, config, stop, then start and config again.
	deadline := time.Now().Add(15 * time.Second)
	for {
		cp, ok := a.Journal.Tree().Latest()
		if ok && cp.Size >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal checkpoint %+v", cp)
		}
		time.Sleep(20 * time.Millisecond)
	}
	dir := t.TempDir()
	if _, err := a.Journal.Export(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadFile(filepath.Join(dir, integrity.ExportEntriesFile))
	lines := strings.Split(strings.TrimSpace(string(entries)), "\n")
	for i, want := range []string{`"action":"service.start"`, `"action":"config.start"`, `"action":"service.stop"`, `"action":"service.start"`, `"action":"config.start"`} {
		if !strings.Contains(lines[i], want) {
			t.Fatalf("entry %d is %s, want %s", i+1, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], `"journalRetention":"48h0m0s"`) || !strings.Contains(lines[1], `"store":"embedded"`) {
		t.Fatalf("config entry %s", lines[1])
	}
	h, _ := os.Open(filepath.Join(dir, integrity.ExportLeafHashesFile))
	defer h.Close()
	cps, _ := os.ReadFile(filepath.Join(dir, integrity.ExportCheckpointsFile))
	res, err := journal.Verify(strings.NewReader(string(entries)), h, cps, a.Journal.Tree().VerifierKey())
	if err != nil || res.Entries < 5 || res.Origin != integrity.DefaultOrigin+journal.OriginSuffix {
		t.Fatalf("verify: %+v, %v", res, err)
	}
	if a.Journal.Tree().VerifierKey() == a.Ledger.VerifierKey() {
		t.Fatal("the journal and the ledger share a verifier key")
	}
	if err := a.Journal.Ready(t.Context()); err != nil {
		t.Fatalf("journal not ready: %v", err)
	}
	mfs, err := a.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "ledger_journal_") {
			found[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if found["ledger_journal_tree_size"] < 5 || found["ledger_journal_dropped_entries"] != 0 || found["ledger_journal_syslog_connected"] != 1 || len(found) != 5 {
		t.Fatalf("journal metrics %v", found)
	}
}

// A checkpoint the ledger publishes is journaled, naming its size and
// root.
func TestCheckpointPublicationIsJournaled(t *testing.T) {
	a, err := app.Start(t.Context(), app.Config{DataDir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	submitTo(t, a)
	cp, err := a.Ledger.WaitCheckpoint(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []string
	for n := int64(1); n <= cp.Size; n++ {
		sizes = append(sizes, strconv.FormatInt(n, 10))
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		p, err := a.Journal.Query(t.Context(), journal.Query{Objects: sizes, Actions: []journal.Action{journal.CheckpointPublish}})
		if err == nil && len(p.Records) == 1 {
			size, _ := strconv.ParseInt(p.Records[0].Object, 10, 64)
			published, err := a.Ledger.CheckpointAt(t.Context(), size)
			if err != nil || published.Root.String() != p.Records[0].Detail["root"] {
				t.Fatalf("journaled checkpoint %+v, published %+v (%v)", p.Records[0], published.Checkpoint, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no journal entry of checkpoint %d: %+v, %v", cp.Size, p, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
