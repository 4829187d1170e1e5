package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
)

// These tests pin down how nats-server treats atomic batches, which the
// group commit relies on. If an upgrade changes any of it, they fail.

type rawServer struct {
	js     njs.JetStream
	stream njs.Stream
}

func startRaw(t *testing.T) rawServer {
	t.Helper()
	cfg := Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.setDefaults()
	ns, err := startEmbedded(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if ns.Addr() != nil {
		t.Fatalf("the embedded server listens on %v without Listen", ns.Addr())
	}
	nc, err := connect(&cfg, ns, func() {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := njs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ensureStream(t.Context(), js, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rawServer{js: js, stream: st}
}

func msg(subject, id string, expect ...uint64) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Data = []byte(`{}`)
	if id != "" {
		m.Header.Set(headerMsgID, id)
	}
	if len(expect) > 0 {
		m.Header.Set(headerExpectedSubSeq, fmt.Sprint(expect[0]))
	}
	return m
}

func (r rawServer) batch(t *testing.T, msgs ...*nats.Msg) (*jetstreamext.BatchAck, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return jetstreamext.PublishMsgBatch(ctx, r.js, msgs, jetstreamext.BatchFlowControl{AckFirst: false})
}

func (r rawServer) lastSeq(t *testing.T) uint64 {
	t.Helper()
	info, err := r.stream.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

func wantCode(t *testing.T, what string, err error, want njs.ErrorCode) {
	t.Helper()
	code, ok := apiCode(err)
	if !ok || code != want {
		t.Fatalf("%s: got %v (code %d), want JetStream error %d", what, err, code, want)
	}
}

func TestServerRefusedBatchesLeaveNoGap(t *testing.T) {
	r := startRaw(t)
	ack, err := r.batch(t, msg("ledger.a.1", "a1", 0), msg("ledger.b.1", "b1", 0), msg("ledger.b.1", "b2"))
	if err != nil || ack.Sequence != 3 || ack.BatchSize != 3 {
		t.Fatalf("first batch: %+v %v", ack, err)
	}

	// A wrong expected subject sequence on one subject refuses the batch.
	_, err = r.batch(t, msg("ledger.a.1", "a2", 1), msg("ledger.b.1", "b3", 1), msg("ledger.c.1", "c1", 0))
	wantCode(t, "stale expectation in a batch", err, codeWrongLastSequence)
	// An expectation on a subject already written in the same batch too.
	_, err = r.batch(t, msg("ledger.a.1", "a2", 1), msg("ledger.a.1", "a3", 2))
	wantCode(t, "second expectation on one subject", err, codeWrongLastSequenceConstant)
	// A message ID already stored.
	_, err = r.batch(t, msg("ledger.c.1", "c1", 0), msg("ledger.a.1", "a1", 1))
	wantCode(t, "stored ID in a batch", err, codeBatchDuplicate)
	// The same ID twice in the batch.
	_, err = r.batch(t, msg("ledger.c.1", "c1", 0), msg("ledger.d.1", "c1", 0))
	wantCode(t, "one ID twice in a batch", err, codeBatchDuplicate)
	if got := r.lastSeq(t); got != 3 {
		t.Fatalf("refused batches stored messages: last sequence %d, want 3", got)
	}

	// Nothing was consumed: the next batch continues at 4.
	ack, err = r.batch(t, msg("ledger.a.1", "a2", 1), msg("ledger.c.1", "c1", 0))
	if err != nil || ack.Sequence != 5 {
		t.Fatalf("batch after refusals: %+v %v, want last sequence 5", ack, err)
	}
	for seq := uint64(1); seq <= 5; seq++ {
		if _, err := r.stream.GetMsg(t.Context(), seq); err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
	}
}

func TestServerSingleMessageDuplicates(t *testing.T) {
	r := startRaw(t)
	ctx := t.Context()
	if _, err := r.js.PublishMsg(ctx, msg("ledger.a.1", "a1", 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.js.PublishMsg(ctx, msg("ledger.b.1", "b1", 0)); err != nil {
		t.Fatal(err)
	}
	// A retried message with its now stale expectation: the server checks
	// the expectation first (the store then finds the original by reading
	// the stream).
	_, err := r.js.PublishMsg(ctx, msg("ledger.a.1", "a1", 0))
	wantCode(t, "retry with a stale expectation", err, codeWrongLastSequence)
	// With an expectation that holds: acknowledged as a duplicate of the
	// original.
	ack, err := r.js.PublishMsg(ctx, msg("ledger.a.1", "a1", 1))
	if err != nil || !ack.Duplicate || ack.Sequence != 1 {
		t.Fatalf("retry: %+v %v, want a duplicate of 1", ack, err)
	}
	// An ID stored on another subject: also a duplicate, pointing there.
	ack, err = r.js.PublishMsg(ctx, msg("ledger.c.1", "b1", 0))
	if err != nil || !ack.Duplicate || ack.Sequence != 2 {
		t.Fatalf("reused id: %+v %v, want a duplicate of 2", ack, err)
	}
	// A wrong expectation alone.
	_, err = r.js.PublishMsg(ctx, msg("ledger.a.1", "a2", 0))
	wantCode(t, "stale expectation", err, codeWrongLastSequence)
	if got := r.lastSeq(t); got != 2 {
		t.Fatalf("last sequence %d, want 2", got)
	}
}

func TestServerBatchesAreContiguous(t *testing.T) {
	// Batches and single messages published concurrently: every batch
	// occupies consecutive sequences ending at its acknowledged one.
	r := startRaw(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	type span struct{ first, last uint64 }
	var spans []span
	for w := range 8 {
		wg.Go(func() {
			for i := range 30 {
				subj := fmt.Sprintf("ledger.w%d.%d", w, i)
				if w%2 == 0 {
					ack, err := r.js.PublishMsg(t.Context(), msg(subj, subj))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					spans = append(spans, span{ack.Sequence, ack.Sequence})
					mu.Unlock()
					continue
				}
				ack, err := r.batch(t, msg(subj, subj+"-1"), msg(subj, subj+"-2"), msg(subj, subj+"-3"))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				spans = append(spans, span{ack.Sequence - 2, ack.Sequence})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, sp := range spans {
		var subject string
		for seq := sp.first; seq <= sp.last; seq++ {
			m, err := r.stream.GetMsg(t.Context(), seq)
			if err != nil {
				t.Fatal(err)
			}
			if subject != "" && m.Subject != subject {
				t.Fatalf("batch %d-%d interleaved: %s then %s", sp.first, sp.last, subject, m.Subject)
			}
			subject = m.Subject
		}
	}
	if got := r.lastSeq(t); got != 4*30+4*30*3 {
		t.Fatalf("last sequence %d", got)
	}
}

func TestServerMessageGetSeesWholeBatches(t *testing.T) {
	// The server applies an atomic batch one message at a time. The
	// stream's info and its consumers show each message as it is stored,
	// so they can show part of a batch; a message get waits until the
	// batch is applied in full (the stream's isolation lock), which is what
	// the store's Head and ReadAll rely on (leaderHead).
	r := startRaw(t)
	const size, batches = 200, 40
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		defer done.Store(true)
		for b := range batches {
			msgs := make([]*nats.Msg, size)
			for i := range msgs {
				msgs[i] = msg(fmt.Sprintf("ledger.s.%d", b), fmt.Sprintf("b%d-%d", b, i))
			}
			if _, err := r.batch(t, msgs...); err != nil {
				t.Error(err)
				return
			}
		}
	})
	defer wg.Wait()
	body, err := json.Marshal(leaderGetRequest{LastFor: ">", NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	var infoProbes, infoInside int
	wg.Go(func() {
		for !done.Load() {
			info, err := r.stream.Info(t.Context())
			if err != nil {
				t.Error(err)
				return
			}
			if infoProbes++; info.State.LastSeq%size != 0 {
				infoInside++
			}
		}
	})
	probes, seen := 0, 0
	for !done.Load() {
		probes++
		m, err := r.js.Conn().RequestWithContext(t.Context(), njs.DefaultAPIPrefix+"STREAM.MSG.GET."+StreamName, body)
		if err != nil {
			t.Fatal(err)
		}
		var resp leaderGetResponse
		if err := json.Unmarshal(m.Data, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Message == nil {
			if resp.Error == nil || resp.Error.ErrorCode != errNoMessageCode {
				t.Fatalf("message get: %s", m.Data)
			}
			continue
		}
		if seen++; resp.Message.Sequence%size != 0 {
			t.Fatalf("probe %d: a message get saw the last message at %d, inside a batch of %d", probes, resp.Message.Sequence, size)
		}
	}
	wg.Wait()
	if seen == 0 {
		t.Fatal("no message get saw a message while batches were published")
	}
	t.Logf("%d message gets, none inside a batch; the stream's info was inside a batch %d times in %d", probes, infoInside, infoProbes)
}

func TestServerBatchLimit(t *testing.T) {
	r := startRaw(t)
	msgs := make([]*nats.Msg, maxServerBatchMessages+1)
	for i := range msgs {
		msgs[i] = msg("ledger.big.1", fmt.Sprint("m", i))
	}
	_, err := r.batch(t, msgs...)
	if err == nil {
		t.Fatalf("a batch of %d messages was accepted", len(msgs))
	}
	ack, err := r.batch(t, msgs[:maxServerBatchMessages]...)
	if err != nil || ack.Sequence != maxServerBatchMessages {
		t.Fatalf("a batch of %d messages: %+v %v", maxServerBatchMessages, ack, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

// BenchmarkServerAtomicBatch measures what one atomic batch costs the
// server, by size, one batch at a time: the fixed cost per batch (the
// server stages an R1 file-backed batch in its own small store) against
// the one fsync it shares among its messages.
func BenchmarkServerAtomicBatch(b *testing.B) {
	for _, size := range []int{1, 8, 64, 256} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			t := &testing.T{}
			_ = t
			cfg := Config{DataDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			cfg.setDefaults()
			ns, err := startEmbedded(&cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
			nc, err := connect(&cfg, ns, func() {})
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			js, _ := njs.New(nc)
			if _, err := ensureStream(context.Background(), js, &cfg); err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 400)
			n := 0
			for b.Loop() {
				msgs := make([]*nats.Msg, size)
				for i := range msgs {
					n++
					msgs[i] = &nats.Msg{Subject: fmt.Sprintf("ledger.s.%d", i), Data: payload, Header: nats.Header{headerMsgID: []string{fmt.Sprint(n)}}}
				}
				if size == 1 {
					_, err = js.PublishMsg(context.Background(), msgs[0])
				} else {
					_, err = jetstreamext.PublishMsgBatch(context.Background(), js, msgs, jetstreamext.BatchFlowControl{})
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
