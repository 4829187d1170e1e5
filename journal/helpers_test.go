package journal

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openStore starts a real embedded nats-server in a temp dir.
func openStore(t *testing.T, dir string) *jetstream.Store {
	t.Helper()
	store, err := jetstream.Open(context.Background(), jetstream.Config{DataDir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	// Closed after the journals, which are cleaned up first.
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// testConfig is a journal configuration over store with its files in dir.
func testConfig(store *jetstream.Store, dir, keys string) Config {
	return Config{JetStream: store.JetStream(), Replicas: store.Replicas(), Dir: dir, KeyDir: keys,
		Origin: "test.example/ledger", CheckpointInterval: 50 * time.Millisecond, Instance: "test-1", Logger: quiet}
}

func openJournal(t *testing.T, cfg Config) *Journal {
	t.Helper()
	j, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = j.Close(ctx)
	})
	return j
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCheckpoint waits for a signed checkpoint of at least size leaves.
func waitCheckpoint(t *testing.T, j *Journal, size int64) {
	t.Helper()
	waitFor(t, 10*time.Second, "a journal checkpoint", func() bool {
		cp, ok := j.Tree().Latest()
		return ok && cp.Size >= size
	})
}

func read(i int, object string) Entry {
	return Entry{Action: ReadCompany, Result: Success, Subject: "30004", Role: "bank", Tenant: "bank:30004",
		Object: object, Source: "192.0.2.7", RequestID: "req-" + string(rune('a'+i%26))}
}
