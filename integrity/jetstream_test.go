package integrity

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
)

// TestOnJetStream proves the whole cycle on the real backend: an embedded
// NATS JetStream store on disk, followed by Run while it is written to,
// restarted, exported, verified offline, tampered with and self-audited.
func TestOnJetStream(t *testing.T) {
	rng := newRand(t)
	ctx := context.Background()
	store, err := jetstream.Open(ctx, jetstream.Config{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatalf("open jetstream store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	fill(t, store, rng, 400)

	cfg := testConfig(t)
	cfg.CheckpointInterval = time.Millisecond
	l := openLog(t, cfg)
	stop := runLog(t, l, store)
	fill(t, store, rng, 300) // while Run follows
	if _, err := l.WaitCheckpoint(waitCtx(t), 700); err != nil {
		t.Fatal(err)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	_ = l.Close()

	fill(t, store, rng, 100) // while stopped
	l = openLog(t, cfg)
	stop = runLog(t, l, store)
	if _, err := l.WaitCheckpoint(waitCtx(t), 800); err != nil {
		t.Fatal(err)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	roots := refRoots(t, readAll(t, store))
	checkAllCheckpoints(t, l, roots)
	if res := l.SelfAudit(ctx, store); !res.OK() || res.Leaves != 800 {
		t.Fatalf("self-audit = %+v", res)
	}

	dir := filepath.Join(t.TempDir(), "export")
	if _, err := l.Export(ctx, store, dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadFile(filepath.Join(dir, ExportEntriesFile))
	checkpoints, _ := os.ReadFile(filepath.Join(dir, ExportCheckpointsFile))
	vkey, _ := os.ReadFile(filepath.Join(dir, ExportVerifierKeyFile))
	res, err := Verify(bytes.NewReader(entries), checkpoints, string(vkey), nil)
	if err != nil || res.Verified != 800 {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	ls := lines(entries)
	ls[500] = bytes.Replace(bytes.Clone(ls[500]), []byte(`"bank"`), []byte(`"Bank"`), 1)
	_, err = Verify(bytes.NewReader(join(ls)), checkpoints, string(vkey), nil)
	var m *Mismatch
	if !errors.As(err, &m) || m.From > 500 || m.To <= 500 {
		t.Fatalf("Verify of a tampered export = %v", err)
	}
}
