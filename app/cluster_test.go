package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// startNATS starts an external nats-server with JetStream on a free port.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), SyncAlways: true, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// copyDir copies the files of src into dst (the deployment's shared keys,
// until the keys dir is its own setting).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Two services on one external NATS serve one list of checkpoints: the
// second, started later with an empty data dir, serves what the first
// published, and only one of them publishes.
func TestTwoInstancesServeOneListOfCheckpoints(t *testing.T) {
	ns := startNATS(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	cp := func() { copyDir(t, datadir.New(dirA).Keys, datadir.New(dirB).Keys) }
	a, err := app.Start(t.Context(), app.Config{DataDir: dirA, NATSURL: ns.ClientURL(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cp()
	b, err := app.Start(t.Context(), app.Config{DataDir: dirB, NATSURL: ns.ClientURL(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	submitTo(t, a)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ca, err := a.Ledger.WaitCheckpoint(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Ledger.WaitCheckpoint(ctx, ca.Size)
	if err != nil {
		t.Fatal(err)
	}
	if string(ca.Note) != string(cb.Note) {
		t.Fatalf("the instances serve different checkpoints:\n%s\n%s", ca.Note, cb.Note)
	}
	if a.Ledger.Publishing() == b.Ledger.Publishing() {
		t.Fatalf("publishing: a %v, b %v; want exactly one", a.Ledger.Publishing(), b.Ledger.Publishing())
	}
	if _, err := b.Ledger.InclusionProof(ctx, 0, ca.Size); err != nil {
		t.Fatalf("b proves against the shared checkpoint: %v", err)
	}
}
