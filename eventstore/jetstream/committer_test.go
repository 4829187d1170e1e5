package jetstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

func openInternal(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var testIDs int

func newEvent(id string) eventstore.NewEvent {
	if id == "" {
		testIDs++
		id = "e" + strconv.Itoa(testIDs)
	}
	return eventstore.NewEvent{ID: id, Type: "x.y", SchemaVersion: 1, OccurredAt: time.Now(), Data: []byte(`{}`)}
}

func request(t *testing.T, stream string, exp eventstore.ExpectedVersion, events ...eventstore.NewEvent) *appendReq {
	t.Helper()
	r := &appendReq{ctx: t.Context(), stream: stream, subject: Subject(stream), expected: exp, done: make(chan outcome, 1)}
	for _, e := range events {
		enc, err := encode(e)
		if err != nil {
			t.Fatal(err)
		}
		r.events = append(r.events, enc)
		r.size += len(enc.payload)
	}
	return r
}

// appendBehindBack appends to a stream without the store knowing, as
// another process would.
func appendBehindBack(t *testing.T, s *Store, stream string, version, lastSeq uint64) {
	t.Helper()
	enc, err := encode(newEvent(""))
	if err != nil {
		t.Fatal(err)
	}
	m := &nats.Msg{Subject: Subject(stream), Data: enc.payload, Header: nats.Header{
		headerMsgID: []string{enc.event.ID}, HeaderVersion: []string{strconv.FormatUint(version, 10)},
		headerExpectedSubSeq: []string{strconv.FormatUint(lastSeq, 10)},
	}}
	if _, err := s.js.PublishMsg(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}

func TestRefusedBatchIsSplitAndTheOthersCommit(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	res, err := s.Append(ctx, "company-x", eventstore.NoStream(), newEvent(""))
	if err != nil {
		t.Fatal(err)
	}
	appendBehindBack(t, s, "company-x", 2, res.Position) // the cache now lags

	x := request(t, "company-x", eventstore.Exact(1), newEvent(""), newEvent(""))
	xChained := request(t, "company-x", eventstore.Any(), newEvent(""))
	y := request(t, "company-y", eventstore.NoStream(), newEvent(""), newEvent(""))
	z := request(t, "company-z", eventstore.NoStream(), newEvent(""))
	for _, r := range []*appendReq{y, z} {
		if _, err := s.refresh(ctx, r.stream); err != nil {
			t.Fatal(err)
		}
	}
	batch, rest := s.commit.form([]*appendReq{x, y, xChained, z}, map[string]bool{})
	if len(batch) != 4 || len(rest) != 0 || !xChained.chained || x.chained {
		t.Fatalf("form: batch %d rest %d chained %v", len(batch), len(rest), xChained.chained)
	}
	s.commit.commit(batch)

	if o := <-x.done; o.kind != retry || !errors.Is(o.err, eventstore.ErrConcurrency) {
		t.Fatalf("stale append: %+v, want a retry after a concurrency refusal", o)
	}
	if o := <-xChained.done; o.kind != retry {
		t.Fatalf("append chained to the stale one: %+v, want a retry", o)
	}
	for _, r := range []*appendReq{y, z} {
		o := <-r.done
		if o.kind != committed || o.res.Version != uint64(len(r.events)) {
			t.Fatalf("%s: %+v, want committed", r.stream, o)
		}
	}
	// Heads x, y, z: [x y] [z], then [x] [y].
	if st := s.Stats(); st.Splits != 2 {
		t.Fatalf("stats %+v, want two splits", st)
	}
	if _, ok := s.cache.get("company-x"); ok {
		t.Fatalf("the stale cache entry was kept")
	}
	// Through the public API, the stale append is a conflict, and the
	// right expectation succeeds.
	if _, err := s.Append(ctx, "company-x", eventstore.Exact(1), newEvent("")); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("append with the stale expectation: %v", err)
	}
	if res, err := s.Append(ctx, "company-x", eventstore.Exact(2), newEvent("")); err != nil || res.Version != 3 {
		t.Fatalf("append with the right expectation: %+v %v", res, err)
	}
	all, err := s.ReadAll(ctx, 1, 100)
	if err != nil || len(all) != 6 {
		t.Fatalf("log: %d events (%v), want 6", len(all), err)
	}
}

func TestDuplicateInBatchIsIsolated(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	orig := newEvent("")
	if _, err := s.Append(ctx, "company-a", eventstore.NoStream(), orig, newEvent("")); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"company-b", "company-c"} {
		if _, err := s.refresh(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	dup := request(t, "company-b", eventstore.Any(), newEvent(""), orig) // reuses a's first ID
	ok := request(t, "company-c", eventstore.Any(), newEvent(""), newEvent(""))
	batch, _ := s.commit.form([]*appendReq{dup, ok}, map[string]bool{})
	s.commit.commit(batch)
	if o := <-dup.done; o.kind != duplicate {
		t.Fatalf("append reusing an ID: %+v, want duplicate", o)
	}
	if o := <-ok.done; o.kind != committed || o.res.Position != 4 {
		t.Fatalf("other append: %+v, want committed at 4 (no gap)", o)
	}
	// Through the public API the reuse is an invalid event.
	if _, err := s.Append(ctx, "company-b", eventstore.Any(), newEvent(""), orig); !errors.Is(err, eventstore.ErrInvalidEvent) {
		t.Fatalf("public append reusing an ID: %v", err)
	}
}

func TestFormKeepsOneChainPerStreamAndOrder(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	for _, st := range []string{"company-a", "company-b"} {
		if _, err := s.refresh(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	a1 := request(t, "company-a", eventstore.NoStream(), newEvent(""))
	a2 := request(t, "company-a", eventstore.Exact(1), newEvent("")) // depends on a1: waits
	a3 := request(t, "company-a", eventstore.Any(), newEvent(""))    // behind a2: waits too
	b1 := request(t, "company-b", eventstore.Any(), newEvent(""))
	busyB := request(t, "company-b", eventstore.Any(), newEvent(""))
	stale := request(t, "company-b", eventstore.Exact(5), newEvent(""))
	batch, rest := s.commit.form([]*appendReq{a1, a2, a3, b1}, map[string]bool{})
	if len(batch) != 2 || batch[0] != a1 || batch[1] != b1 || len(rest) != 2 || rest[0] != a2 || rest[1] != a3 {
		t.Fatalf("form: batch %v rest %v", batch, rest)
	}
	// A stream with a batch in flight waits.
	batch, rest = s.commit.form([]*appendReq{busyB}, map[string]bool{"company-b": true})
	if len(batch) != 0 || len(rest) != 1 {
		t.Fatalf("busy stream: batch %v rest %v", batch, rest)
	}
	// Ahead of the cache: refresh and retry.
	batch, _ = s.commit.form([]*appendReq{stale}, map[string]bool{})
	if o := <-stale.done; len(batch) != 0 || o.kind != retry {
		t.Fatalf("expectation ahead of the cache: %+v", o)
	}
	// Behind the cache: a conflict, without asking the server.
	s.cache.put("company-b", streamState{version: 7, lastSeq: 70})
	behind := request(t, "company-b", eventstore.Exact(5), newEvent(""))
	if batch, _ = s.commit.form([]*appendReq{behind}, map[string]bool{}); len(batch) != 0 {
		t.Fatal("a stale expectation joined a batch")
	}
	if o := <-behind.done; o.kind != conflict || o.state.version != 7 {
		t.Fatalf("expectation behind the cache: %+v", o)
	}
	// A full batch leaves the rest for later, in order.
	s.commit.cfg.MaxBatchMessages = 2
	defer func() { s.commit.cfg.MaxBatchMessages = DefaultMaxBatchMessages }()
	var queue []*appendReq
	for i := range 4 {
		st := fmt.Sprintf("company-f%d", i)
		s.cache.put(st, streamState{})
		queue = append(queue, request(t, st, eventstore.Any(), newEvent("")))
	}
	batch, rest = s.commit.form(queue, map[string]bool{})
	if len(batch) != 2 || len(rest) != 2 || rest[0] != queue[2] {
		t.Fatalf("limits: batch %d rest %d", len(batch), len(rest))
	}
}

func TestHotStreamAppendsShareBatches(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	const writers, each = 32, 20
	errs := make(chan error, writers)
	for range writers {
		go func() {
			for range each {
				if _, err := s.Append(ctx, "company-hot", eventstore.Any(), newEventConcurrent()); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ReadStream(ctx, "company-hot", 0)
	if err != nil || len(got) != writers*each {
		t.Fatalf("hot stream: %d events (%v)", len(got), err)
	}
	for i, e := range got {
		if e.Version != uint64(i+1) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
	}
	st := s.Stats()
	if st.Publishes >= st.Appends {
		t.Fatalf("stats %+v: appends to one stream were not batched together", st)
	}
	t.Logf("%d appends in %d publishes", st.Appends, st.Publishes)
}

var concurrentIDs = make(chan int, 1)

func init() { concurrentIDs <- 0 }

func newEventConcurrent() eventstore.NewEvent {
	n := <-concurrentIDs
	concurrentIDs <- n + 1
	return newEvent(fmt.Sprintf("c%d", n))
}

func TestOpenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Open(ctx, Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil {
		t.Fatal("Open with a cancelled context succeeded")
	}
}

func TestSinglesAreIsolated(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	res, err := s.Append(ctx, "company-x", eventstore.NoStream(), newEvent(""))
	if err != nil {
		t.Fatal(err)
	}
	appendBehindBack(t, s, "company-x", 2, res.Position)
	dupID := newEvent("")
	if _, err := s.Append(ctx, "company-d", eventstore.NoStream(), dupID); err != nil {
		t.Fatal(err)
	}
	x := request(t, "company-x", eventstore.Exact(1), newEvent(""))
	y := request(t, "company-y", eventstore.NoStream(), newEvent(""))
	d := request(t, "company-d", eventstore.Any(), dupID)
	z := request(t, "company-z", eventstore.NoStream(), newEvent(""))
	for _, st := range []string{"company-y", "company-z"} {
		if _, err := s.refresh(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	batch, _ := s.commit.form([]*appendReq{x, y, d, z}, map[string]bool{})
	if len(batch) != 4 || !singles(batch) {
		t.Fatalf("batch %d singles %v", len(batch), singles(batch))
	}
	s.commit.commit(batch)
	if o := <-x.done; o.kind != retry || !errors.Is(o.err, eventstore.ErrConcurrency) {
		t.Fatalf("stale single: %+v", o)
	}
	if o := <-d.done; o.kind != duplicate {
		t.Fatalf("retried single: %+v", o)
	}
	for _, r := range []*appendReq{y, z} {
		if o := <-r.done; o.kind != committed || o.res.Version != 1 {
			t.Fatalf("%s: %+v", r.stream, o)
		}
	}
	all, err := s.ReadAll(ctx, 1, 10)
	if err != nil || len(all) != 5 {
		t.Fatalf("log has %d events (%v), want 5 without gaps", len(all), err)
	}
}
