package jetstream_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/eventstore/storetest"
)

// startServer starts a nats-server listening on a free loopback port, as
// an external server would be, with its monitoring endpoint.
func startServer(t *testing.T, syncAlways bool, mutate ...func(*server.Options)) *server.Server {
	t.Helper()
	opts := &server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, HTTPHost: "127.0.0.1", HTTPPort: server.RANDOM_PORT,
		JetStream: true, StoreDir: t.TempDir(), SyncAlways: syncAlways, NoSigs: true, NoLog: true,
	}
	for _, m := range mutate {
		m(opts)
	}
	ns, err := server.NewServer(opts)
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

type logBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

func monitorURL(ns *server.Server) string { return "http://" + ns.MonitorAddr().String() }

func TestExternalContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		ns := startServer(t, true)
		s, err := jetstream.Open(t.Context(), jetstream.Config{URL: ns.ClientURL(), MonitorURL: monitorURL(ns), Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestExternalDurabilityCheck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sync      bool
		monitor   bool
		want, not string
	}{
		{"sync always, verified", true, true, "syncs every write to disk", "DURABILITY WARNING"},
		{"no sync, refused", false, true, "", ""},
		{"cannot verify, warned", true, false, "cannot verify", "sync_always is off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := startServer(t, tc.sync)
			var logs logBuffer
			cfg := jetstream.Config{URL: ns.ClientURL(), Logger: logs.logger()}
			if tc.monitor {
				cfg.MonitorURL = monitorURL(ns)
			}
			s, err := jetstream.Open(t.Context(), cfg)
			if !tc.sync {
				if err == nil || !strings.Contains(err.Error(), "sync_always is off") {
					t.Fatalf("a server seen not to sync every write: %v, want a refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !strings.Contains(logs.String(), tc.want) || strings.Contains(logs.String(), tc.not) {
				t.Fatalf("logs do not say %q (or say %q):\n%s", tc.want, tc.not, logs.String())
			}
			if tc.want != "syncs every write to disk" && !strings.Contains(logs.String(), "level=WARN") {
				t.Fatalf("the durability warning is not a warning:\n%s", logs.String())
			}
		})
	}
}

func TestExternalCredentials(t *testing.T) {
	ns := startServer(t, true, func(o *server.Options) { o.Username, o.Password = "ledger", "s3cret" })
	s, err := jetstream.Open(t.Context(), jetstream.Config{URL: ns.ClientURL(), Username: "ledger", Password: "s3cret", Logger: quietLogger()})
	if err != nil {
		t.Fatalf("open with the right credentials: %v", err)
	}
	defer s.Close()
	if _, err := s.Append(t.Context(), "company-1", eventstore.NoStream(), benchEvent()); err != nil {
		t.Fatal(err)
	}
	_, err = jetstream.Open(t.Context(), jetstream.Config{URL: ns.ClientURL(), Username: "ledger", Password: "wrong", Logger: quietLogger()})
	if !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("open with wrong credentials: %v, want ErrUnavailable", err)
	}
	_, err = jetstream.Open(t.Context(), jetstream.Config{URL: "nats://127.0.0.1:1", Logger: quietLogger(), ConnectTimeout: time.Second})
	if !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("open with no server: %v, want ErrUnavailable", err)
	}
}

func TestServerGoneIsUnavailable(t *testing.T) {
	ns := startServer(t, true)
	s, err := jetstream.Open(t.Context(), jetstream.Config{URL: ns.ClientURL(), Logger: quietLogger(), RequestTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(t.Context(), "company-1", eventstore.NoStream(), benchEvent()); err != nil {
		t.Fatal(err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	_, err = s.Append(t.Context(), "company-1", eventstore.Exact(1), benchEvent())
	if !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("append with the server gone: %v, want ErrUnavailable", err)
	}
	if _, err := s.ReadStream(t.Context(), "company-1", 0); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("read with the server gone: %v, want ErrUnavailable", err)
	}
	if _, err := s.Head(t.Context()); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("head with the server gone: %v, want ErrUnavailable", err)
	}
}

// Two stores, one embedded and listening, one connecting to it: each one's
// cache goes stale as the other appends, and optimistic concurrency still
// holds.
func TestTwoStoresOneServer(t *testing.T) {
	seed, _ := newUser(t)
	a := openStore(t, t.TempDir(), withNKey(seed))
	if a.ClientURL() == "" {
		t.Fatal("a listening embedded store has no client URL")
	}
	if openStore(t, t.TempDir()).ClientURL() != "" {
		t.Fatal("a non-listening embedded store has a client URL")
	}
	b, err := jetstream.Open(t.Context(), jetstream.Config{URL: a.ClientURL(), NKeySeed: seed, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	stores := []eventstore.Store{a, b}
	const stream = "company-shared"
	var version uint64
	for round := range 10 {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				_, err := stores[i%2].Append(ctx, stream, eventstore.Exact(version), benchEvent())
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, eventstore.ErrConcurrency):
					t.Errorf("round %d: %v", round, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d winners", round, wins.Load())
		}
		version++
		// Any appends from both sides keep versions contiguous.
		for i := range 4 {
			res, err := stores[(i+round)%2].Append(ctx, stream, eventstore.Any(), benchEvent())
			if err != nil || res.Version != version+1 {
				t.Fatalf("round %d: Any append: %+v %v, want version %d", round, res, err, version+1)
			}
			version++
		}
	}
	for _, s := range stores {
		got, err := s.ReadStream(ctx, stream, 0)
		if err != nil || uint64(len(got)) != version {
			t.Fatalf("stream has %d events (%v), want %d", len(got), err, version)
		}
		for i, e := range got {
			if e.Version != uint64(i+1) {
				t.Fatalf("event %d has version %d", i, e.Version)
			}
		}
	}
}
