package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// startNATS starts an external nats-server with JetStream on a free port,
// admitting only the ledger's nkey user of the keys dir.
func startNATS(t *testing.T, keys datadir.Keys) *server.Server {
	t.Helper()
	if _, _, err := keys.Init(""); err != nil {
		t.Fatal(err)
	}
	_, pub, err := datadir.LoadNATSSeed(keys.NATSLedger)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), SyncAlways: true, NoSigs: true, NoLog: true, Nkeys: []*server.NkeyUser{{Nkey: pub}}})
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

// Two services on one external NATS, sharing a keys dir, serve one list of
// checkpoints: the second, started later with an empty data dir, serves
// what the first published, and only one of them publishes.
func TestTwoInstancesServeOneListOfCheckpoints(t *testing.T) {
	keys := datadir.NewKeys(filepath.Join(t.TempDir(), "keys"))
	ns := startNATS(t, keys)
	dirA, dirB := t.TempDir(), t.TempDir()
	a, err := app.Start(t.Context(), app.Config{DataDir: dirA, KeysDir: keys.Dir, NATSURL: ns.ClientURL(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := app.Start(t.Context(), app.Config{DataDir: dirB, KeysDir: keys.Dir, NATSURL: ns.ClientURL(), Logger: quiet()})
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
