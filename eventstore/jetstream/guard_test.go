package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
)

// A server replaced under a running store by an empty one (a cluster
// rebuilt on lost disks, a stream deleted and created again by another
// process) is refused: nothing is acknowledged into it, the store says
// why, and it resumes when its own stream is back. One store has only the
// check on each append (its periodic check is an hour away), the other
// the periodic check too.
func TestReplacedStreamIsRefusedUntilItIsBack(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	on := func(storeDir string) func(*server.Options) {
		return func(o *server.Options) { o.Port, o.StoreDir, o.HTTPPort = port, storeDir, 0 }
	}
	original := startServer(t, true, on(dir))
	url := original.ClientURL()
	open := func(guard time.Duration) *jetstream.Store {
		s, err := jetstream.Open(t.Context(), jetstream.Config{URL: url, Logger: quietLogger(),
			RequestTimeout: 500 * time.Millisecond, GuardInterval: guard})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	perAppend, periodic := open(time.Hour), open(50*time.Millisecond)
	for i := range 5 {
		for _, s := range []*jetstream.Store{perAppend, periodic} {
			if _, err := s.Append(t.Context(), fmt.Sprintf("company-%d", i), eventstore.Any(), benchEvent()); err != nil {
				t.Fatal(err)
			}
		}
	}
	original.Shutdown()
	original.WaitForShutdown()

	// An empty server where the original was: the stream is gone.
	empty := startServer(t, true, on(t.TempDir()))
	waitFor(t, "the periodic check to see the stream gone", func() bool {
		return errors.Is(periodic.Replaced(), eventstore.ErrWrongStore)
	})
	// Another process creates a new ledger stream there and writes to it.
	other := open(time.Hour)
	for i := range 2 {
		if _, err := other.Append(t.Context(), fmt.Sprintf("company-%d", 100+i), eventstore.Any(), benchEvent()); err != nil {
			t.Fatal(err)
		}
	}
	for name, s := range map[string]*jetstream.Store{"per-append": perAppend, "periodic": periodic} {
		waitFor(t, name+" store to refuse the new stream", func() bool {
			res, err := s.Append(t.Context(), "company-new", eventstore.Any(), benchEvent())
			if err == nil {
				t.Fatalf("%s store acknowledged an append into the replacement stream at position %d", name, res.Position)
			}
			return errors.Is(err, eventstore.ErrWrongStore)
		})
		if s.Replaced() == nil {
			t.Fatalf("%s store refused an append but does not say it is replaced", name)
		}
	}
	t.Logf("refused: %v", periodic.Replaced())
	if sub, err := periodic.Subscribe(t.Context(), 1); err == nil {
		// A subscription may open; it delivers nothing from the wrong stream.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		env, err := sub.Next(ctx)
		cancel()
		sub.Close()
		if !errors.Is(err, eventstore.ErrWrongStore) {
			t.Fatalf("a subscription on the replacement stream: %+v, %v; want ErrWrongStore", env, err)
		}
	}

	// The original comes back: the periodic store resumes by itself.
	other.Close()
	empty.Shutdown()
	empty.WaitForShutdown()
	startServer(t, true, on(dir))
	waitFor(t, "the periodic store to resume on its own stream", func() bool {
		_, err := periodic.Append(t.Context(), "company-back", eventstore.Any(), benchEvent())
		return err == nil
	})
	if err := periodic.Replaced(); err != nil {
		t.Fatalf("resumed but still says replaced: %v", err)
	}
	head, err := periodic.Head(t.Context())
	if err != nil || head != 11 {
		t.Fatalf("head after resuming: %d %v, want 11 (10 before, 1 after; nothing of the replacement)", head, err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Appends in flight when the connection drops fail at once (outcome
// unknown: retried with the same event ids), rather than after the whole
// request timeout: on a cluster the client is back on another node in a
// fraction of a second, and the group commit must not sit out the timeout
// first.
func TestInFlightAppendsFailWhenTheConnectionDrops(t *testing.T) {
	ns := startServer(t, true)
	s, err := jetstream.Open(t.Context(), jetstream.Config{URL: ns.ClientURL(), Logger: quietLogger(), RequestTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	failed := make(chan time.Time, 8)
	var writers sync.WaitGroup
	defer writers.Wait()
	defer s.Close() // before Wait: ends the appends still waiting
	for w := range 8 {
		writers.Go(func() {
			for i := 0; ; i++ {
				if _, err := s.Append(t.Context(), fmt.Sprintf("company-%d", w), eventstore.Any(), benchEvent()); err != nil {
					if !errors.Is(err, eventstore.ErrUnavailable) && !errors.Is(err, eventstore.ErrClosed) {
						t.Errorf("append with the connection lost: %v, want ErrUnavailable", err)
					}
					failed <- time.Now()
					return
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	ns.Shutdown()
	dropped := time.Now()
	select {
	case at := <-failed:
		t.Logf("the first append in flight failed %s after the connection dropped", at.Sub(dropped).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("appends in flight were still waiting 10 s after the connection dropped (request timeout 30 s)")
	}
}
