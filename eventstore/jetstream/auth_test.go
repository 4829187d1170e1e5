package jetstream_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
)

// newUser returns a new user nkey seed and its public key.
func newUser(t testing.TB) (seed []byte, public string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ = kp.Seed()
	public, _ = kp.PublicKey()
	return seed, public
}

// withNKey makes an embedded store listen, admitting the ledger user of
// seed and the auditors.
func withNKey(seed []byte, auditors ...string) func(*jetstream.Config) {
	return func(c *jetstream.Config) {
		c.Listen, c.NKeySeed, c.AuditorNKeys = "127.0.0.1:0", seed, auditors
	}
}

// violations records the permission violations the server reports to a
// client.
type violations struct {
	mu   sync.Mutex
	errs []string
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, err.Error())
}

func (v *violations) saw(want string) bool {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		v.mu.Lock()
		for _, e := range v.errs {
			if strings.Contains(e, want) {
				v.mu.Unlock()
				return true
			}
		}
		v.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// connectAs connects a client to url as the user of seed (anonymous when
// seed is nil).
func connectAs(t *testing.T, url string, seed []byte, v *violations) (*nats.Conn, error) {
	t.Helper()
	opts := []nats.Option{nats.Timeout(2 * time.Second), nats.NoReconnect()}
	if v != nil {
		opts = append(opts, nats.ErrorHandler(v.handler))
	}
	if seed != nil {
		kp, err := nkeys.FromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		opts = append(opts, nats.Nkey(pub, kp.Sign))
	}
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

func TestListeningEmbeddedServerRefusesAnonymousClients(t *testing.T) {
	seed, _ := newUser(t)
	s := openStore(t, t.TempDir(), withNKey(seed))
	if _, err := s.Append(t.Context(), "company-1", eventstore.Any(), benchEvent()); err != nil {
		t.Fatalf("the store's own in-process connection: %v", err)
	}
	if _, err := connectAs(t, s.ClientURL(), nil, nil); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("anonymous client: %v, want an authorization violation", err)
	}
	stranger, _ := newUser(t)
	if _, err := connectAs(t, s.ClientURL(), stranger, nil); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("unknown nkey: %v, want an authorization violation", err)
	}
	// Without an nkey, a listening embedded server does not start.
	_, err := jetstream.Open(t.Context(), jetstream.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "NKeySeed") {
		t.Fatalf("Open listening without NKeySeed: %v", err)
	}
}

// The ledger's user reaches the server from outside (a second store), but
// may not delete or purge a stream.
func TestLedgerUserCannotDeleteOrPurge(t *testing.T) {
	ctx := context.Background()
	seed, _ := newUser(t)
	a := openStore(t, t.TempDir(), withNKey(seed))
	b, err := jetstream.Open(ctx, jetstream.Config{URL: a.ClientURL(), NKeySeed: seed, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Append(ctx, "company-1", eventstore.Any(), benchEvent()); err != nil {
		t.Fatalf("append as the ledger user: %v", err)
	}
	var v violations
	nc, err := connectAs(t, a.ClientURL(), seed, &v)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := njs.New(nc)
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := js.DeleteStream(rctx, jetstream.StreamName); err == nil {
		t.Fatal("the ledger user deleted the stream")
	}
	if !v.saw("Permissions Violation for Publish to \"$JS.API.STREAM.DELETE.LEDGER\"") {
		t.Fatalf("no permission violation for the delete: %v", v.errs)
	}
	st, err := js.Stream(ctx, jetstream.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel = context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := st.Purge(rctx); err == nil {
		t.Fatal("the ledger user purged the stream")
	}
	if info, err := st.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Fatalf("after the refused delete and purge: %+v, %v", info, err)
	}
}

// A read-only auditor reads the ledger stream, and publishes nothing.
func TestAuditorReadsButCannotWrite(t *testing.T) {
	ctx := context.Background()
	seed, _ := newUser(t)
	audSeed, audPub := newUser(t)
	s := openStore(t, t.TempDir(), withNKey(seed, audPub))
	for range 3 {
		if _, err := s.Append(ctx, "company-1", eventstore.Any(), benchEvent()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Checkpoints(ctx); err != nil {
		t.Fatal(err)
	}
	var v violations
	nc, err := connectAs(t, s.ClientURL(), audSeed, &v)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := njs.New(nc)
	st, err := js.Stream(ctx, jetstream.StreamName)
	if err != nil {
		t.Fatalf("stream info as the auditor: %v", err)
	}
	if m, err := st.GetMsg(ctx, 2); err != nil || m.Sequence != 2 {
		t.Fatalf("message get: %v", err)
	}
	if m, err := st.GetMsg(ctx, 3, njs.WithGetMsgSubject("")); err != nil || m.Sequence != 3 {
		t.Fatalf("get: %v", err)
	}
	// Tailing: an ordered consumer reads every event.
	cons, err := st.OrderedConsumer(ctx, njs.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("consumer as the auditor: %v", err)
	}
	batch, err := cons.Fetch(3, njs.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range batch.Messages() {
		n++
	}
	if n != 3 {
		t.Fatalf("the auditor read %d events, want 3 (%v)", n, batch.Error())
	}

	// No publish to an event subject.
	if err := nc.Publish("ledger.company.x", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	if !v.saw(`Permissions Violation for Publish to "ledger.company.x"`) {
		t.Fatalf("no violation for the forged event: %v", v.errs)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := js.Publish(rctx, "ledger.company.x", []byte("forged")); err == nil {
		t.Fatal("the auditor's JetStream publish was acknowledged")
	}
	// No delete, purge or update of the stream or its messages.
	for name, refused := range map[string]func(context.Context) error{
		"delete":     func(c context.Context) error { return js.DeleteStream(c, jetstream.StreamName) },
		"purge":      func(c context.Context) error { return st.Purge(c) },
		"msg delete": func(c context.Context) error { return st.DeleteMsg(c, 1) },
		"update": func(c context.Context) error {
			cfg := st.CachedInfo().Config
			cfg.MaxMsgs = 1
			_, err := js.UpdateStream(c, cfg)
			return err
		},
		"checkpoints": func(c context.Context) error { _, err := js.Stream(c, jetstream.CheckpointsStream); return err },
	} {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		err := refused(rctx)
		cancel()
		if err == nil {
			t.Errorf("the auditor's %s was allowed", name)
		}
	}
	for _, subj := range []string{"$JS.API.STREAM.DELETE.LEDGER", "$JS.API.STREAM.PURGE.LEDGER", "$JS.API.STREAM.MSG.DELETE.LEDGER", "$JS.API.STREAM.UPDATE.LEDGER"} {
		if !v.saw(`Permissions Violation for Publish to "` + subj + `"`) {
			t.Errorf("no violation for %s: %v", subj, v.errs)
		}
	}
	if got, err := s.Head(ctx); err != nil || got != 3 {
		t.Fatalf("the stream's head is %d after the auditor's attempts, want 3 (%v)", got, err)
	}
}
