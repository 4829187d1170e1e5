// Package storetest is the contract every eventstore.Store backend passes.
// A backend's test calls Run with a constructor that returns a new, empty
// store for each subtest:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) eventstore.Store { return newStore(t) })
//	}
//
// The constructor registers the store's cleanup with t.Cleanup; Run closes
// the store itself too, so Close must be idempotent.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// NewStore returns a new, empty store for one subtest.
type NewStore func(t *testing.T) eventstore.Store

// Run runs the whole contract suite against the backend that newStore makes.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s eventstore.Store)
	}{
		{"Versions", testVersions},
		{"EnvelopeRoundTrip", testEnvelopeRoundTrip},
		{"ConcurrentSameExpectedVersion", testConcurrentSameExpected},
		{"MultiEventAtomicity", testMultiEventAtomicity},
		{"ConcurrentStreamsGlobalOrder", testGlobalOrder},
		{"ReadAfterAppend", testReadAfterAppend},
		{"ReadAll", testReadAll},
		{"SubscriptionResume", testSubscriptionResume},
		{"SubscriptionLive", testSubscriptionLive},
		{"Idempotency", testIdempotency},
		{"IdempotencyUnderConcurrency", testIdempotencyConcurrent},
		{"OversizedEvent", testOversized},
		{"InvalidStream", testInvalidStream},
		{"InvalidEvent", testInvalidEvent},
		{"ContextCancellation", testContextCancellation},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

var idSeq atomic.Uint64

// ev returns a valid event with a fresh ID.
func ev(typ string) eventstore.NewEvent {
	n := idSeq.Add(1)
	return eventstore.NewEvent{
		ID:            fmt.Sprintf("evt-%d-%d", time.Now().UnixNano(), n),
		Type:          typ,
		SchemaVersion: 1,
		OccurredAt:    time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC),
		Actor:         eventstore.Actor{Role: "bank", ID: "30004"},
		CorrelationID: "corr-1",
		CausationID:   "cmd-1",
		Data:          json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
	}
}

func evs(n int) []eventstore.NewEvent {
	out := make([]eventstore.NewEvent, n)
	for i := range out {
		out[i] = ev("test.happened")
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, exp eventstore.ExpectedVersion, events ...eventstore.NewEvent) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(ctxT(t), stream, exp, events...)
	if err != nil {
		t.Fatalf("append %d events to %s (%s): %v", len(events), stream, exp, err)
	}
	return res
}

func mustReadStream(t *testing.T, s eventstore.Store, stream string, from uint64) []eventstore.Envelope {
	t.Helper()
	got, err := s.ReadStream(ctxT(t), stream, from)
	if err != nil {
		t.Fatalf("read stream %s from %d: %v", stream, from, err)
	}
	return got
}

func mustReadAll(t *testing.T, s eventstore.Store) []eventstore.Envelope {
	t.Helper()
	var all []eventstore.Envelope
	from := uint64(1)
	for {
		page, err := s.ReadAll(ctxT(t), from, 1000)
		if err != nil {
			t.Fatalf("read all from %d: %v", from, err)
		}
		all = append(all, page...)
		if len(page) < 1000 {
			return all
		}
		from = page[len(page)-1].Position + 1
	}
}

func mustHead(t *testing.T, s eventstore.Store) uint64 {
	t.Helper()
	h, err := s.Head(ctxT(t))
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

func ids(envs []eventstore.Envelope) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = e.ID
	}
	return out
}

func newIDs(events []eventstore.NewEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func testVersions(t *testing.T, s eventstore.Store) {
	const stream = "company-732829320"
	if h := mustHead(t, s); h != 0 {
		t.Fatalf("head of an empty store = %d, want 0", h)
	}
	if got := mustReadStream(t, s, stream, 0); len(got) != 0 {
		t.Fatalf("unknown stream has %d events, want 0", len(got))
	}
	first := evs(2)
	res := mustAppend(t, s, stream, eventstore.NoStream(), first...)
	if res.Version != 2 || res.Position != 2 || len(res.Events) != 2 {
		t.Fatalf("first append: version %d position %d events %d, want 2 2 2", res.Version, res.Position, len(res.Events))
	}
	for i, e := range res.Events {
		if e.Version != uint64(i+1) || e.Position != uint64(i+1) || e.Stream != stream || e.ID != first[i].ID {
			t.Fatalf("first append event %d: %+v", i, e)
		}
	}

	_, err := s.Append(ctxT(t), stream, eventstore.NoStream(), ev("x.y"))
	wantErr(t, "NoStream on an existing stream", err, eventstore.ErrConcurrency)
	_, err = s.Append(ctxT(t), stream, eventstore.Exact(1), ev("x.y"))
	wantErr(t, "stale Exact(1)", err, eventstore.ErrConcurrency)
	_, err = s.Append(ctxT(t), stream, eventstore.Exact(3), ev("x.y"))
	wantErr(t, "future Exact(3)", err, eventstore.ErrConcurrency)
	_, err = s.Append(ctxT(t), "company-1", eventstore.Exact(1), ev("x.y"))
	wantErr(t, "Exact(1) on a new stream", err, eventstore.ErrConcurrency)

	res = mustAppend(t, s, stream, eventstore.Exact(2), ev("x.y"))
	if res.Version != 3 || res.Position != 3 {
		t.Fatalf("Exact(2): version %d position %d, want 3 3", res.Version, res.Position)
	}
	other := mustAppend(t, s, "company-552100554", eventstore.Exact(0), ev("x.y"))
	if other.Version != 1 || other.Position != 4 {
		t.Fatalf("Exact(0) on a new stream: version %d position %d, want 1 4", other.Version, other.Position)
	}
	res = mustAppend(t, s, stream, eventstore.Any(), evs(2)...)
	if res.Version != 5 || res.Position != 6 {
		t.Fatalf("Any: version %d position %d, want 5 6", res.Version, res.Position)
	}
	res = mustAppend(t, s, "company-99", eventstore.Any(), ev("x.y"))
	if res.Version != 1 || res.Position != 7 {
		t.Fatalf("Any on a new stream: version %d position %d, want 1 7", res.Version, res.Position)
	}

	all := mustReadStream(t, s, stream, 0)
	if len(all) != 5 {
		t.Fatalf("stream has %d events, want 5", len(all))
	}
	for i, e := range all {
		if e.Version != uint64(i+1) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
	}
	if got := mustReadStream(t, s, stream, 1); len(got) != 5 {
		t.Fatalf("read from 1: %d events, want 5", len(got))
	}
	if got := mustReadStream(t, s, stream, 4); len(got) != 2 || got[0].Version != 4 || got[0].Position != 5 {
		t.Fatalf("read from 4: %+v", got)
	}
	if got := mustReadStream(t, s, stream, 6); len(got) != 0 {
		t.Fatalf("read from 6: %d events, want 0", len(got))
	}
	if h := mustHead(t, s); h != 7 {
		t.Fatalf("head = %d, want 7", h)
	}
}

func testEnvelopeRoundTrip(t *testing.T, s eventstore.Store) {
	const stream = "company_profile-ab_C-9"
	paris := time.FixedZone("Paris", 3600)
	e := eventstore.NewEvent{
		ID:            "01J9Z3V7Q8K2M4N6P8R0T2V4X6",
		Type:          "attestation.issued",
		SchemaVersion: 3,
		OccurredAt:    time.Date(2025, 11, 2, 10, 4, 5, 123456789, paris),
		Actor:         eventstore.Actor{Role: "bank", ID: "30004-agent-7"},
		CorrelationID: "corr-ü-1",
		CausationID:   "cmd-42",
		Provenance:    "hmac-sha256:k1:3q2-7w",
		Data:          json.RawMessage("{\n  \"amount\": \"150000.00\",\n  \"note\": \"<é&>\", \"list\": [1, 2]\n}"),
	}
	res := mustAppend(t, s, stream, eventstore.NoStream(), e)
	check := func(where string, got eventstore.Envelope) {
		t.Helper()
		want := eventstore.Envelope{
			Position: 1, Stream: stream, Version: 1, Type: e.Type, SchemaVersion: 3, ID: e.ID,
			OccurredAt: e.OccurredAt.UTC(), Actor: e.Actor, CorrelationID: e.CorrelationID, CausationID: e.CausationID,
			Data: json.RawMessage(`{"amount":"150000.00","note":"<é&>","list":[1,2]}`), Provenance: e.Provenance,
		}
		if got.Position != want.Position || got.Stream != want.Stream || got.Version != want.Version ||
			got.Type != want.Type || got.SchemaVersion != want.SchemaVersion || got.ID != want.ID ||
			!got.OccurredAt.Equal(want.OccurredAt) || got.OccurredAt.Location() != time.UTC ||
			got.Actor != want.Actor || got.CorrelationID != want.CorrelationID || got.CausationID != want.CausationID ||
			string(got.Data) != string(want.Data) || got.Provenance != want.Provenance {
			t.Fatalf("%s:\n got %+v (data %s)\nwant %+v (data %s)", where, got, got.Data, want, want.Data)
		}
	}
	check("append result", res.Events[0])
	check("read stream", mustReadStream(t, s, stream, 1)[0])
	check("read all", mustReadAll(t, s)[0])
	sub, err := s.Subscribe(ctxT(t), 0)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	got, err := sub.Next(ctxT(t))
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	check("subscription", got)

	// Optional fields may be empty.
	bare := eventstore.NewEvent{ID: "bare-1", Type: "x.y", SchemaVersion: 1, OccurredAt: time.Unix(1, 0), Data: json.RawMessage(`null`)}
	res = mustAppend(t, s, stream, eventstore.Exact(1), bare)
	if g := res.Events[0]; g.Actor != (eventstore.Actor{}) || g.CorrelationID != "" || string(g.Data) != "null" {
		t.Fatalf("bare event: %+v", g)
	}
	if g := mustReadStream(t, s, stream, 2)[0]; g.Actor != (eventstore.Actor{}) || g.CausationID != "" || string(g.Data) != "null" || !g.OccurredAt.Equal(time.Unix(1, 0)) {
		t.Fatalf("bare event read back: %+v", g)
	}
}

func testConcurrentSameExpected(t *testing.T, s eventstore.Store) {
	const stream = "company-123456789"
	mustAppend(t, s, stream, eventstore.NoStream(), ev("x.y"))
	const n = 16
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			_, err := s.Append(ctxT(t), stream, eventstore.Exact(1), evs(2)...)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, eventstore.ErrConcurrency):
				conflicts.Add(1)
			default:
				t.Errorf("unexpected error %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		t.Fatalf("%d wins and %d conflicts, want 1 and %d", wins.Load(), conflicts.Load(), n-1)
	}
	if got := mustReadStream(t, s, stream, 0); len(got) != 3 {
		t.Fatalf("stream has %d events, want 3", len(got))
	}
	// Rounds on fresh streams, each with a different starting version.
	for round := range 4 {
		stream := fmt.Sprintf("company-%d", 900+round)
		var version uint64
		for range round {
			version = mustAppend(t, s, stream, eventstore.Any(), ev("x.y")).Version
		}
		const n = 12
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				mine := evs(1 + round%3)
				res, err := s.Append(ctxT(t), stream, eventstore.Exact(version), mine...)
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(newIDs(mine))
					if res.Version != version+uint64(len(mine)) {
						t.Errorf("winner got version %d, want %d", res.Version, version+uint64(len(mine)))
					}
				case errors.Is(err, eventstore.ErrConcurrency):
				default:
					t.Errorf("unexpected error %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("stream %s: %d winners, want exactly 1", stream, wins.Load())
		}
		got := mustReadStream(t, s, stream, version+1)
		if !equalStrings(ids(got), winner.Load().([]string)) {
			t.Fatalf("stream %s holds %v after the race, want the winner's %v", stream, ids(got), winner.Load())
		}
	}
}

func testMultiEventAtomicity(t *testing.T, s eventstore.Store) {
	const stream = "company-1"
	mustAppend(t, s, stream, eventstore.NoStream(), evs(3)...)

	// An invalid event anywhere refuses the whole append.
	bad := evs(3)
	bad[2].Type = ""
	_, err := s.Append(ctxT(t), stream, eventstore.Exact(3), bad...)
	wantErr(t, "append with one invalid event", err, eventstore.ErrInvalidEvent)
	big := evs(3)
	big[1].Data = json.RawMessage(`"` + strings.Repeat("a", eventstore.MaxEventSize+10) + `"`)
	_, err = s.Append(ctxT(t), stream, eventstore.Exact(3), big...)
	wantErr(t, "append with one oversized event", err, eventstore.ErrEventTooLarge)
	// A conflicting multi-event append records none of its events.
	_, err = s.Append(ctxT(t), stream, eventstore.Exact(2), evs(4)...)
	wantErr(t, "stale multi-event append", err, eventstore.ErrConcurrency)
	if got := mustReadStream(t, s, stream, 0); len(got) != 3 {
		t.Fatalf("after refused appends the stream has %d events, want 3", len(got))
	}
	if h := mustHead(t, s); h != 3 {
		t.Fatalf("after refused appends head = %d, want 3", h)
	}
	// Too many events in one append.
	_, err = s.Append(ctxT(t), stream, eventstore.Exact(3), evs(eventstore.MaxAppendEvents+1)...)
	wantErr(t, "append of too many events", err, eventstore.ErrInvalidEvent)
	res := mustAppend(t, s, stream, eventstore.Exact(3), evs(eventstore.MaxAppendEvents)...)
	if res.Version != 3+eventstore.MaxAppendEvents {
		t.Fatalf("append of MaxAppendEvents: version %d", res.Version)
	}

	// Concurrent multi-event appends to many streams: each append's events
	// are contiguous in their stream and in the log.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			stream := fmt.Sprintf("company-%d", 100+w)
			var v uint64
			for i := range 10 {
				n := 1 + (w+i)%4
				res, err := s.Append(ctxT(t), stream, eventstore.Exact(v), evs(n)...)
				if err != nil {
					t.Errorf("append to %s: %v", stream, err)
					return
				}
				for j, e := range res.Events {
					if e.Version != v+uint64(j)+1 || (j > 0 && e.Position != res.Events[j-1].Position+1) {
						t.Errorf("append to %s: event %d at version %d position %d", stream, j, e.Version, e.Position)
					}
				}
				v = res.Version
			}
		})
	}
	wg.Wait()
}

func testGlobalOrder(t *testing.T, s eventstore.Store) {
	const writers, appends = 16, 25
	results := make([][]eventstore.AppendResult, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("company-%d", w)
			if w%4 == 3 {
				stream = "company-hot" // a shared stream, appended to with Any
			}
			var v uint64
			for i := range appends {
				exp := eventstore.Exact(v)
				if stream == "company-hot" {
					exp = eventstore.Any()
				}
				res, err := s.Append(ctxT(t), stream, exp, evs(1+i%3)...)
				if err != nil {
					t.Errorf("writer %d append %d: %v", w, i, err)
					return
				}
				v = res.Version
				results[w] = append(results[w], res)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	all := mustReadAll(t, s)
	byPos := make(map[uint64]eventstore.Envelope, len(all))
	lastVersion := map[string]uint64{}
	for i, e := range all {
		if e.Position != uint64(i+1) {
			t.Fatalf("log entry %d has position %d: the log has a gap or is out of order", i, e.Position)
		}
		if e.Version != lastVersion[e.Stream]+1 {
			t.Fatalf("position %d: stream %s version %d follows version %d", e.Position, e.Stream, e.Version, lastVersion[e.Stream])
		}
		lastVersion[e.Stream] = e.Version
		byPos[e.Position] = e
	}
	if h := mustHead(t, s); h != uint64(len(all)) {
		t.Fatalf("head %d, log has %d events", h, len(all))
	}
	total := 0
	for w := range writers {
		for _, res := range results[w] {
			for _, e := range res.Events {
				total++
				got, ok := byPos[e.Position]
				if !ok || got.ID != e.ID || got.Version != e.Version || got.Stream != e.Stream {
					t.Fatalf("append result %+v does not match the log entry %+v", e, got)
				}
			}
		}
	}
	if total != len(all) {
		t.Fatalf("appends returned %d events, the log has %d", total, len(all))
	}
}

func testReadAfterAppend(t *testing.T, s eventstore.Store) {
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			stream := fmt.Sprintf("company-%d", w)
			var v uint64
			for i := range 20 {
				res, err := s.Append(ctxT(t), stream, eventstore.Exact(v), ev("x.y"))
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				v = res.Version
				got, err := s.ReadStream(ctxT(t), stream, v)
				if err != nil || len(got) != 1 || got[0].ID != res.Events[0].ID {
					t.Errorf("append %d: read stream right after: %v %v", i, ids(got), err)
					return
				}
				page, err := s.ReadAll(ctxT(t), res.Position, 1)
				if err != nil || len(page) != 1 || page[0].ID != res.Events[0].ID {
					t.Errorf("append %d: read all right after: %v %v", i, ids(page), err)
					return
				}
				h, err := s.Head(ctxT(t))
				if err != nil || h < res.Position {
					t.Errorf("append %d: head %d < position %d (%v)", i, h, res.Position, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func testReadAll(t *testing.T, s eventstore.Store) {
	if got, err := s.ReadAll(ctxT(t), 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("read all of an empty store: %v %v", ids(got), err)
	}
	for i := range 10 {
		mustAppend(t, s, fmt.Sprintf("company-%d", i%3), eventstore.Any(), evs(1+i%2)...)
	}
	all := mustReadAll(t, s) // 15 events
	if len(all) != 15 {
		t.Fatalf("log has %d events, want 15", len(all))
	}
	for _, tc := range []struct {
		from       uint64
		limit      int
		first, num int
	}{
		{0, 100, 1, 15}, {1, 100, 1, 15}, {1, 4, 1, 4}, {5, 3, 5, 3}, {14, 10, 14, 2},
		{15, 1, 15, 1}, {16, 10, 0, 0}, {1000, 10, 0, 0}, {1, 0, 0, 0}, {1, -1, 0, 0},
	} {
		got, err := s.ReadAll(ctxT(t), tc.from, tc.limit)
		if err != nil {
			t.Fatalf("read all from %d limit %d: %v", tc.from, tc.limit, err)
		}
		if len(got) != tc.num || (tc.num > 0 && got[0].Position != uint64(tc.first)) {
			t.Fatalf("read all from %d limit %d: %d events from %v, want %d from %d", tc.from, tc.limit, len(got), got, tc.num, tc.first)
		}
		for i, e := range got {
			if !equalStrings([]string{e.ID}, []string{all[tc.first-1+i].ID}) {
				t.Fatalf("read all from %d: entry %d differs", tc.from, i)
			}
		}
	}
}

func testSubscriptionResume(t *testing.T, s eventstore.Store) {
	for i := range 30 {
		mustAppend(t, s, fmt.Sprintf("company-%d", i%4), eventstore.Any(), evs(1+i%3)...)
	}
	all := mustReadAll(t, s)
	// Read in chunks, closing and resuming after each.
	var got []eventstore.Envelope
	from := uint64(0)
	for chunk := 0; len(got) < len(all); chunk++ {
		sub, err := s.Subscribe(ctxT(t), from)
		if err != nil {
			t.Fatalf("subscribe from %d: %v", from, err)
		}
		for range 7 {
			if len(got) == len(all) {
				break
			}
			e, err := sub.Next(ctxT(t))
			if err != nil {
				t.Fatalf("chunk %d next: %v", chunk, err)
			}
			got = append(got, e)
		}
		if err := sub.Close(); err != nil {
			t.Fatalf("close subscription: %v", err)
		}
		from = got[len(got)-1].Position + 1
	}
	if !equalStrings(ids(got), ids(all)) {
		t.Fatalf("resumed subscriptions delivered %v, want %v", ids(got), ids(all))
	}
	for i, e := range got {
		if e.Position != uint64(i+1) {
			t.Fatalf("delivery %d has position %d", i, e.Position)
		}
	}
	// From the middle, then waiting past the head.
	sub, err := s.Subscribe(ctxT(t), 10)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	for i := uint64(10); i <= uint64(len(all)); i++ {
		e, err := sub.Next(ctxT(t))
		if err != nil || e.Position != i {
			t.Fatalf("from 10: got position %d (%v), want %d", e.Position, err, i)
		}
	}
	short, cancel := context.WithTimeout(ctxT(t), 200*time.Millisecond)
	defer cancel()
	if e, err := sub.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("next past the head: got %+v, %v; want a deadline error", e, err)
	}
	// The subscription is still usable after a timed-out Next.
	res := mustAppend(t, s, "company-x", eventstore.Any(), ev("x.y"))
	e, err := sub.Next(ctxT(t))
	if err != nil || e.ID != res.Events[0].ID || e.Position != res.Position {
		t.Fatalf("next after timeout: %+v %v, want %s", e, err, res.Events[0].ID)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := sub.Next(ctxT(t)); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("next after close: %v, want ErrClosed", err)
	}
}

func testSubscriptionLive(t *testing.T, s eventstore.Store) {
	const writers, appends = 8, 20
	sub, err := s.Subscribe(ctxT(t), 1)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	var total atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range appends {
				n := 1 + (w+i)%2
				if _, err := s.Append(ctxT(t), fmt.Sprintf("company-%d", w), eventstore.Any(), evs(n)...); err != nil {
					t.Errorf("append: %v", err)
					return
				}
				total.Add(int64(n))
			}
		})
	}
	want := 0
	for w := range writers {
		for i := range appends {
			want += 1 + (w+i)%2
		}
	}
	versions := map[string]uint64{}
	for i := 1; i <= want; i++ {
		e, err := sub.Next(ctxT(t))
		if err != nil {
			t.Fatalf("next %d: %v", i, err)
		}
		if e.Position != uint64(i) || e.Version != versions[e.Stream]+1 {
			t.Fatalf("delivery %d: position %d, %s version %d after %d", i, e.Position, e.Stream, e.Version, versions[e.Stream])
		}
		versions[e.Stream] = e.Version
	}
	wg.Wait()
	if int(total.Load()) != want {
		t.Fatalf("appended %d events, want %d", total.Load(), want)
	}
}

func testIdempotency(t *testing.T, s eventstore.Store) {
	const stream = "company-42"
	one := ev("x.y")
	orig := mustAppend(t, s, stream, eventstore.NoStream(), one)
	three := evs(3)
	orig3 := mustAppend(t, s, stream, eventstore.Exact(1), three...)
	mustAppend(t, s, "company-43", eventstore.Any(), evs(2)...)
	head := mustHead(t, s)

	same := func(what string, got, want eventstore.AppendResult) {
		t.Helper()
		if got.Version != want.Version || got.Position != want.Position || !equalStrings(ids(got.Events), ids(want.Events)) {
			t.Fatalf("%s: got %+v, want the original %+v", what, got, want)
		}
		for i := range got.Events {
			if got.Events[i].Position != want.Events[i].Position || got.Events[i].Version != want.Events[i].Version {
				t.Fatalf("%s: event %d at %d/%d, want %d/%d", what, i, got.Events[i].Position, got.Events[i].Version,
					want.Events[i].Position, want.Events[i].Version)
			}
		}
	}
	same("retry of a single event with its expectation", mustAppend(t, s, stream, eventstore.NoStream(), one), orig)
	same("retry of a single event with Any", mustAppend(t, s, stream, eventstore.Any(), one), orig)
	same("retry of three events with their expectation", mustAppend(t, s, stream, eventstore.Exact(1), three...), orig3)
	same("retry of three events with Any", mustAppend(t, s, stream, eventstore.Any(), three...), orig3)
	// The stream moved on since: a retry still finds the original.
	mustAppend(t, s, stream, eventstore.Exact(4), ev("x.y"))
	head++
	same("retry after the stream moved on", mustAppend(t, s, stream, eventstore.Exact(1), three...), orig3)
	if h := mustHead(t, s); h != head {
		t.Fatalf("retries stored events: head %d, want %d", h, head)
	}

	// Reusing a recorded ID for other events is refused and stores nothing.
	reuse := ev("x.y")
	reuse.ID = three[1].ID
	_, err := s.Append(ctxT(t), "company-44", eventstore.Any(), reuse)
	wantErr(t, "an ID recorded in another stream", err, eventstore.ErrInvalidEvent)
	_, err = s.Append(ctxT(t), stream, eventstore.Any(), ev("x.y"), reuse)
	wantErr(t, "an ID recorded earlier in the same stream, with a new one", err, eventstore.ErrInvalidEvent)
	_, err = s.Append(ctxT(t), stream, eventstore.Any(), three[1], three[0], three[2])
	wantErr(t, "recorded IDs in another order", err, eventstore.ErrInvalidEvent)
	if h := mustHead(t, s); h != head {
		t.Fatalf("refused reuses stored events: head %d, want %d", h, head)
	}
	if got := mustReadStream(t, s, "company-44", 0); len(got) != 0 {
		t.Fatalf("stream company-44 has %d events, want 0", len(got))
	}
}

func testIdempotencyConcurrent(t *testing.T, s eventstore.Store) {
	// The same appends retried concurrently, alongside other appends.
	const streams = 8
	batches := make([][]eventstore.NewEvent, streams)
	for i := range batches {
		batches[i] = evs(1 + i%3)
	}
	var wg sync.WaitGroup
	for i := range streams {
		for range 4 {
			wg.Go(func() {
				exp := eventstore.NoStream()
				if i%2 == 1 {
					exp = eventstore.Any()
				}
				res, err := s.Append(ctxT(t), fmt.Sprintf("company-%d", i), exp, batches[i]...)
				if err != nil {
					t.Errorf("stream %d: %v", i, err)
					return
				}
				if res.Version != uint64(len(batches[i])) || !equalStrings(ids(res.Events), newIDs(batches[i])) {
					t.Errorf("stream %d: result %+v, want the one original append", i, res)
				}
			})
		}
	}
	wg.Wait()
	all := mustReadAll(t, s)
	want := 0
	for i := range batches {
		want += len(batches[i])
		got := mustReadStream(t, s, fmt.Sprintf("company-%d", i), 0)
		if !equalStrings(ids(got), newIDs(batches[i])) {
			t.Fatalf("stream %d holds %v, want %v once", i, ids(got), newIDs(batches[i]))
		}
	}
	if len(all) != want {
		t.Fatalf("log has %d events, want %d", len(all), want)
	}
}

func testOversized(t *testing.T, s eventstore.Store) {
	const stream = "company-7"
	big := ev("x.y")
	big.Data = json.RawMessage(`"` + strings.Repeat("a", eventstore.MaxEventSize) + `"`)
	_, err := s.Append(ctxT(t), stream, eventstore.Any(), big)
	wantErr(t, "data larger than MaxEventSize", err, eventstore.ErrEventTooLarge)
	// Just under the limit once the envelope is counted.
	big.Data = json.RawMessage(`"` + strings.Repeat("a", eventstore.MaxEventSize-100) + `"`)
	_, err = s.Append(ctxT(t), stream, eventstore.Any(), big)
	wantErr(t, "envelope and data larger than MaxEventSize", err, eventstore.ErrEventTooLarge)
	if h := mustHead(t, s); h != 0 {
		t.Fatalf("oversized events were stored: head %d", h)
	}
	ok := ev("x.y")
	ok.Data = json.RawMessage(`"` + strings.Repeat("a", eventstore.MaxEventSize-4096) + `"`)
	res := mustAppend(t, s, stream, eventstore.Any(), ok)
	got := mustReadStream(t, s, stream, 0)
	if len(got) != 1 || string(got[0].Data) != string(ok.Data) || res.Position != 1 {
		t.Fatalf("a large event did not round-trip")
	}
}

func testInvalidStream(t *testing.T, s eventstore.Store) {
	for _, name := range []string{
		"", "company", "company-", "-123", "Company-1", "company-1.2", "company-1 2", "company-*",
		"company->", "comp.any-1", "9company-1", "company-" + strings.Repeat("1", 129),
	} {
		_, err := s.Append(ctxT(t), name, eventstore.Any(), ev("x.y"))
		wantErr(t, fmt.Sprintf("append to %q", name), err, eventstore.ErrInvalidStream)
		_, err = s.ReadStream(ctxT(t), name, 0)
		wantErr(t, fmt.Sprintf("read %q", name), err, eventstore.ErrInvalidStream)
	}
	for _, name := range []string{"company-732829320", "company_profile-a_b-C", "x-1", "bank-" + strings.Repeat("9", 128)} {
		mustAppend(t, s, name, eventstore.NoStream(), ev("x.y"))
		if got := mustReadStream(t, s, name, 0); len(got) != 1 || got[0].Stream != name {
			t.Fatalf("stream %q did not round-trip: %+v", name, got)
		}
	}
}

func testInvalidEvent(t *testing.T, s eventstore.Store) {
	cases := map[string]func(e *eventstore.NewEvent){
		"no id":             func(e *eventstore.NewEvent) { e.ID = "" },
		"id with a space":   func(e *eventstore.NewEvent) { e.ID = "a b" },
		"id with a newline": func(e *eventstore.NewEvent) { e.ID = "a\r\nb" },
		"no type":           func(e *eventstore.NewEvent) { e.Type = "" },
		"schema version 0":  func(e *eventstore.NewEvent) { e.SchemaVersion = 0 },
		"no occurredAt":     func(e *eventstore.NewEvent) { e.OccurredAt = time.Time{} },
		"no data":           func(e *eventstore.NewEvent) { e.Data = nil },
		"data not JSON":     func(e *eventstore.NewEvent) { e.Data = json.RawMessage(`{"a":`) },
	}
	for name, mutate := range cases {
		e := ev("x.y")
		mutate(&e)
		_, err := s.Append(ctxT(t), "company-1", eventstore.Any(), e)
		wantErr(t, name, err, eventstore.ErrInvalidEvent)
	}
	_, err := s.Append(ctxT(t), "company-1", eventstore.Any())
	wantErr(t, "no events", err, eventstore.ErrInvalidEvent)
	dup := ev("x.y")
	_, err = s.Append(ctxT(t), "company-1", eventstore.Any(), dup, dup)
	wantErr(t, "the same id twice", err, eventstore.ErrInvalidEvent)
	if h := mustHead(t, s); h != 0 {
		t.Fatalf("invalid events were stored: head %d", h)
	}
}

func testContextCancellation(t *testing.T, s eventstore.Store) {
	mustAppend(t, s, "company-1", eventstore.NoStream(), ev("x.y"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Append(ctx, "company-1", eventstore.Exact(1), ev("x.y"))
	wantErr(t, "append with a cancelled context", err, context.Canceled)
	_, err = s.ReadStream(ctx, "company-1", 0)
	wantErr(t, "read stream with a cancelled context", err, context.Canceled)
	_, err = s.ReadAll(ctx, 0, 10)
	wantErr(t, "read all with a cancelled context", err, context.Canceled)
	_, err = s.Head(ctx)
	wantErr(t, "head with a cancelled context", err, context.Canceled)
	_, err = s.Subscribe(ctx, 0)
	wantErr(t, "subscribe with a cancelled context", err, context.Canceled)
	if h := mustHead(t, s); h != 1 {
		t.Fatalf("a cancelled append was stored: head %d", h)
	}
	sub, err := s.Subscribe(ctxT(t), 2)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	next, cancelNext := context.WithCancel(t.Context())
	go func() { time.Sleep(50 * time.Millisecond); cancelNext() }()
	_, err = sub.Next(next)
	wantErr(t, "next cancelled while waiting", err, context.Canceled)

	// Appends cancelled while in flight either fail with the context's
	// error or succeed; nothing else, and the store stays consistent.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i*50)*time.Microsecond)
				_, err := s.Append(ctx, fmt.Sprintf("company-c%d", w), eventstore.Any(), evs(2)...)
				cancel()
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("append with a deadline: %v", err)
				}
			}
		})
	}
	wg.Wait()
	all := mustReadAll(t, s)
	versions := map[string]uint64{}
	for i, e := range all {
		if e.Position != uint64(i+1) || e.Version != versions[e.Stream]+1 {
			t.Fatalf("log inconsistent at %d: %+v", i, e)
		}
		versions[e.Stream] = e.Version
	}
	for w := range 8 {
		if v := versions[fmt.Sprintf("company-c%d", w)]; v%2 != 0 {
			t.Fatalf("stream company-c%d has %d events: a two-event append was split", w, v)
		}
	}
}

func testClosed(t *testing.T, s eventstore.Store) {
	mustAppend(t, s, "company-1", eventstore.NoStream(), ev("x.y"))
	sub, err := s.Subscribe(ctxT(t), 2)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sub.Next(ctxT(t))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case err := <-done:
		wantErr(t, "a subscription waiting when the store closes", err, eventstore.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatalf("a waiting subscription did not end when the store closed")
	}
	_, err = s.Append(ctxT(t), "company-1", eventstore.Any(), ev("x.y"))
	wantErr(t, "append after close", err, eventstore.ErrClosed)
	_, err = s.ReadStream(ctxT(t), "company-1", 0)
	wantErr(t, "read stream after close", err, eventstore.ErrClosed)
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
