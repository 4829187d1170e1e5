package jetstream_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/eventstore/storetest"
)

// quietLogger keeps the embedded server's start-up notices out of test
// output; warnings still show.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openStore(t testing.TB, dir string, mutate ...func(*jetstream.Config)) *jetstream.Store {
	t.Helper()
	cfg := jetstream.Config{DataDir: dir, Logger: quietLogger()}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := jetstream.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store in %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return openStore(t, t.TempDir()) })
}
