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
	"github.com/synadia-io/orbit.go/jetstreamext"

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
// (Consumers are not an auditor's: a push consumer's deliver subject would
// let it publish into the ledger's account; direct gets tail the log.)
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
	// Tailing: batches of direct gets read every event, from any position.
	msgs, err := jetstreamext.GetBatch(ctx, js, jetstream.StreamName, 10, jetstreamext.GetBatchSeq(1))
	if err != nil {
		t.Fatalf("batch get as the auditor: %v", err)
	}
	n := 0
	for m, err := range msgs {
		if err != nil {
			t.Fatalf("batch get as the auditor: %v", err)
		}
		if n++; m.Sequence != uint64(n) {
			t.Fatalf("batch get: message %d has sequence %d", n, m.Sequence)
		}
	}
	if n != 3 {
		t.Fatalf("the auditor read %d events, want 3", n)
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
		"consumer": func(c context.Context) error {
			_, err := st.OrderedConsumer(c, njs.OrderedConsumerConfig{})
			return err
		},
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

// An auditor lives in an account of its own, which holds no stream: a
// reply subject it picks for a read, or a consumer's deliver subject,
// cannot land a message in a stream or bucket of the ledger. (In the
// ledger's account, both did: a direct get answered into the idempotency
// bucket, a push consumer delivered into the checkpoints stream.)
func TestAuditorCannotInjectThroughReplies(t *testing.T) {
	ctx := context.Background()
	seed, _ := newUser(t)
	audSeed, audPub := newUser(t)
	s := openStore(t, t.TempDir(), withNKey(seed, audPub))
	if _, err := s.Append(ctx, "company-1", eventstore.Any(), benchEvent()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IdempotencyKeys(ctx); err != nil {
		t.Fatal(err)
	}
	cps, err := s.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := connectAs(t, s.ClientURL(), audSeed, &violations{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Request("$JS.API.CONSUMER.CREATE."+jetstream.StreamName,
		[]byte(`{"stream_name":"LEDGER","config":{"deliver_subject":"ledger-checkpoints.published","ack_policy":"none"}}`), 500*time.Millisecond); err == nil {
		t.Error("the auditor created a push consumer")
	}
	for _, r := range []struct{ subj, reply string }{
		{"$JS.API.DIRECT.GET." + jetstream.StreamName, "$KV." + jetstream.KeysBucket + ".forged"},
		{"$JS.API.STREAM.MSG.GET." + jetstream.StreamName, "ledger-checkpoints.published"},
		{"$JS.API.DIRECT.GET." + jetstream.StreamName, "ledger-checkpoints.published"},
	} {
		if err := nc.PublishRequest(r.subj, r.reply, []byte(`{"seq":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	ledger, err := connectAs(t, s.ClientURL(), seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := njs.New(ledger)
	for _, name := range []string{"KV_" + jetstream.KeysBucket, jetstream.CheckpointsStream} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if info, err := st.Info(ctx); err != nil || info.State.Msgs != 0 {
			t.Errorf("%s holds %d messages after the auditor's requests (%v)", name, info.State.Msgs, err)
		}
	}
	if last, err := cps.Last(ctx); err != nil || last != 0 {
		t.Fatalf("checkpoints: last %d, %v", last, err)
	}
}

// A data dir of an embedded server without users (before the keys dir)
// opens with them, and the other way round: the ledger's streams stay
// where they were, in the global account.
func TestUsersKeepTheStoredStreams(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	seed, _ := newUser(t)
	_, audPub := newUser(t)
	for i, mutate := range []func(*jetstream.Config){
		func(*jetstream.Config) {}, withNKey(seed, audPub), func(*jetstream.Config) {}, withNKey(seed),
	} {
		s := openStore(t, dir, mutate)
		res, err := s.Append(ctx, "company-1", eventstore.Any(), benchEvent())
		if err != nil || res.Version != uint64(i+1) {
			t.Fatalf("open %d: append %+v, %v (the stream's earlier events are lost)", i, res, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
