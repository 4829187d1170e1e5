package journal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/integrity"
)

// Entries recorded by the service reach the shared stream, the tree and a
// signed checkpoint with the journal's own origin; each is proven included
// with tlog against the signed root, and an export verifies offline, while
// an altered, removed or reordered line fails.
func TestRecordProveExportVerify(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, t.TempDir())
	j := openJournal(t, testConfig(store, t.TempDir(), t.TempDir()))
	for i := range 10 {
		if err := j.Record(read(i, "552100554")); err != nil {
			t.Fatal(err)
		}
	}
	waitCheckpoint(t, j, 10)
	cp, _ := j.Tree().Latest()
	if cp.Origin != "test.example/ledger/journal" {
		t.Fatalf("origin %q", cp.Origin)
	}
	if _, err := integrity.OpenCheckpoint(cp.Note, j.Tree().VerifierKey()); err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	if err := j.readLeaves(ctx, cp.Size, func(_ uint64, leaf []byte) error {
		leaves = append(leaves, leaf)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if int64(len(leaves)) != cp.Size {
		t.Fatalf("%d leaves, checkpoint %d", len(leaves), cp.Size)
	}
	for i, leaf := range leaves {
		p, err := j.Tree().InclusionProof(ctx, int64(i), cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p.Hashes, cp.Size, cp.Root, int64(i), tlog.RecordHash(leaf)); err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
	}
	if !bytes.HasPrefix(leaves[0], []byte(`{"position":1,"time":"`)) || !bytes.Contains(leaves[0], []byte(`"action":"read.company","result":"success","subject":"30004","role":"bank","tenant":"bank:30004","object":"552100554","source":"192.0.2.7"`)) {
		t.Fatalf("leaf 1: %s", leaves[0])
	}

	dir := t.TempDir()
	if _, err := j.Export(ctx, dir); err != nil {
		t.Fatal(err)
	}
	res, err := verifyDir(dir)
	if err != nil || res.Entries != cp.Size || res.Expired != 0 || res.Size != cp.Size {
		t.Fatalf("verify: %+v, %v", res, err)
	}
	entries, _ := os.ReadFile(filepath.Join(dir, integrity.ExportEntriesFile))
	lines := strings.SplitAfter(string(entries), "\n")
	lines = lines[:len(lines)-1]
	for name, bad := range map[string]string{
		"altered":  strings.Join(lines[:3], "") + strings.Replace(lines[3], "30004", "30005", 1) + strings.Join(lines[4:], ""),
		"removed":  strings.Join(lines[:3], "") + strings.Join(lines[4:], ""),
		"last cut": strings.Join(lines[:len(lines)-1], ""),
		"swapped":  strings.Join(lines[:3], "") + lines[4] + lines[3] + strings.Join(lines[5:], ""),
	} {
		if err := os.WriteFile(filepath.Join(dir, integrity.ExportEntriesFile), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := verifyDir(dir); !errors.Is(err, ErrVerify) {
			t.Errorf("%s entry: verify says %v", name, err)
		}
	}
}

func verifyDir(dir string) (VerifyResult, error) {
	entries, err := os.Open(filepath.Join(dir, integrity.ExportEntriesFile))
	if err != nil {
		return VerifyResult{}, err
	}
	defer entries.Close()
	hashes, err := os.Open(filepath.Join(dir, integrity.ExportLeafHashesFile))
	if err != nil {
		return VerifyResult{}, err
	}
	defer hashes.Close()
	cps, _ := os.ReadFile(filepath.Join(dir, integrity.ExportCheckpointsFile))
	vkey, _ := os.ReadFile(filepath.Join(dir, integrity.ExportVerifierKeyFile))
	return Verify(entries, hashes, cps, string(vkey))
}

// An entry is bounded and cleaned before it is stored: unknown actions
// and results are refused, control and bidi characters replaced, long
// values cut, the detail map capped, the time kept to the millisecond in
// UTC.
func TestEntryNormalized(t *testing.T) {
	if _, err := (Entry{Action: "read.everything", Result: Success}).normalize(); !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("unknown action: %v", err)
	}
	if _, err := (Entry{Action: ReadCompany, Result: "ok"}).normalize(); !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("unknown result: %v", err)
	}
	detail := map[string]string{}
	for i := range 12 {
		detail[string(rune('a'+i))] = "v"
	}
	paris := time.FixedZone("CET", 3600)
	e, err := Entry{
		Time: time.Date(2026, 3, 1, 10, 0, 0, 123456789, paris), Action: AuthnFailure, Result: Failure,
		Subject: "evil\n<13>1 forged\u202e", RequestID: strings.Repeat("x", 500), Detail: detail,
	}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(e.Subject, "\n\u202e") || len(e.RequestID) > maxField || !strings.HasSuffix(e.RequestID, "…") {
		t.Fatalf("not cleaned: %q %q", e.Subject, e.RequestID)
	}
	if len(e.Detail) != maxDetailKeys+1 || e.Detail["truncated"] != "4" {
		t.Fatalf("detail %v", e.Detail)
	}
	data, err := e.encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(`{"time":"2026-03-01T09:00:00.123Z","action":"authn.failure","result":"failure",`)) {
		t.Fatalf("stored %s", data)
	}
	back, err := decode(data)
	if err != nil || !back.Time.Equal(e.Time) || back.Subject != e.Subject {
		t.Fatalf("decode: %+v, %v", back, err)
	}
}
