package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// appendReq is one Append waiting for the group commit.
type appendReq struct {
	ctx      context.Context
	stream   string
	subject  string
	expected eventstore.ExpectedVersion
	events   []encoded
	size     int // encoded bytes
	done     chan outcome

	// Set when the request joins a batch.
	base    streamState // the stream's state before this append
	chained bool        // follows another append to the same stream in the batch
}

type outcomeKind uint8

const (
	committed outcomeKind = iota // durable; res is set
	conflict                     // the stream is past the expected version; state is where it is
	retry                        // the cache was stale, or others made the batch fail: refresh and submit again
	duplicate                    // the server already holds (some of) the event IDs
	failed                       // err is set
)

// outcome is the group commit's answer to one appendReq.
type outcome struct {
	kind  outcomeKind
	res   eventstore.AppendResult
	state streamState
	err   error
}

// errDuplicate is a single-message publish the server acknowledged as a
// duplicate of the message at seq.
type errDuplicate struct{ seq uint64 }

func (e errDuplicate) Error() string { return fmt.Sprintf("duplicate of message %d", e.seq) }

// committer is the group commit. Appends queue up while earlier batches
// are being made durable; each round takes every waiting append it can
// (at most one chain per stream, within the batch limits) into one atomic
// batch, so one fsync makes all of them durable.
//
// Conflicts are kept from spreading: an append whose expected version the
// cache already shows stale is refused before publishing; an append to a
// stream with a batch in flight waits for the next round; and when the
// server refuses a batch (a stale cache entry, a duplicate), the batch is
// split in halves and retried until the culprit stands alone and gets its
// own answer, while the others commit.
type committer struct {
	js    njs.JetStream
	cache *stateCache
	guard *guard
	epoch *epoch
	cfg   *Config

	stats stats

	reqs   chan *appendReq
	done   chan batchDone
	stop   chan struct{}
	exited chan struct{}
	wg     sync.WaitGroup // batches in flight
}

func newCommitter(js njs.JetStream, cache *stateCache, g *guard, e *epoch, cfg *Config) *committer {
	c := &committer{
		js:     js,
		cache:  cache,
		guard:  g,
		epoch:  e,
		cfg:    cfg,
		reqs:   make(chan *appendReq, 1024),
		done:   make(chan batchDone, cfg.MaxInflightBatches),
		stop:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go c.run()
	return c
}

// submit queues r and waits for its outcome or the end of ctx. A request
// whose ctx ends before it joins a batch is dropped; one in flight may
// still commit.
func (c *committer) submit(ctx context.Context, r *appendReq) (outcome, error) {
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return outcome{}, ctx.Err()
	case <-c.stop:
		return outcome{}, eventstore.ErrClosed
	}
	select {
	case o := <-r.done:
		return o, nil
	case <-ctx.Done():
		return outcome{}, ctx.Err()
	case <-c.exited:
		select {
		case o := <-r.done:
			return o, nil
		default:
			return outcome{}, eventstore.ErrClosed
		}
	}
}

// close stops the group commit: waiting appends fail with ErrClosed, the
// batches in flight finish.
func (c *committer) close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.exited
}

func (c *committer) run() {
	defer close(c.exited)
	var queue []*appendReq
	busy := make(map[string]bool) // streams with a batch in flight
	inflight := 0
	ready := false // whether a new batch might be formed
	// expect is how many appends the last finished batch answered: their
	// writers are likely to be back soon, and waiting a little for them
	// (at most MaxBatchDelay) makes fewer, fuller batches.
	expect := 0
	var linger *time.Timer
	var lingerC <-chan time.Time
	lingered := false
	receive := func(r *appendReq) { queue, ready = append(queue, r), true }
	finish := func(d batchDone) {
		inflight--
		for _, s := range d.streams {
			delete(busy, s)
		}
		expect, ready = d.appends, true
	}
	for {
		if !ready || inflight >= c.cfg.MaxInflightBatches {
			select {
			case r := <-c.reqs:
				receive(r)
			case d := <-c.done:
				finish(d)
			case <-lingerC:
				lingerC, lingered = nil, true
			case <-c.stop:
				c.shutdown(queue)
				return
			}
		}
	drain:
		for {
			select {
			case r := <-c.reqs:
				receive(r)
			case d := <-c.done:
				finish(d)
			case <-c.stop:
				c.shutdown(queue)
				return
			default:
				break drain
			}
		}
		if !ready || inflight >= c.cfg.MaxInflightBatches {
			continue
		}
		if len(queue) < expect && !lingered && c.cfg.MaxBatchDelay > 0 {
			if lingerC == nil {
				if linger == nil {
					linger = time.NewTimer(c.cfg.MaxBatchDelay)
				} else {
					linger.Reset(c.cfg.MaxBatchDelay)
				}
				lingerC = linger.C
			}
			select {
			case r := <-c.reqs:
				receive(r)
			case d := <-c.done:
				finish(d)
			case <-lingerC:
				lingerC, lingered = nil, true
			case <-c.stop:
				c.shutdown(queue)
				return
			}
			continue
		}
		if lingerC != nil {
			linger.Stop()
			lingerC = nil
		}
		lingered = false
		var batch []*appendReq
		batch, queue = c.form(queue, busy)
		if len(batch) == 0 {
			ready = false
			continue
		}
		d := batchDone{appends: len(batch), streams: make([]string, 0, len(batch))}
		for _, r := range batch {
			if !busy[r.stream] {
				busy[r.stream] = true
				d.streams = append(d.streams, r.stream)
			}
		}
		inflight++
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.commit(batch)
			c.done <- d
		}()
	}
}

// batchDone tells the group commit loop a batch is finished.
type batchDone struct {
	appends int      // appends in the batch
	streams []string // the streams it held
}

func (c *committer) shutdown(queue []*appendReq) {
	closed := outcome{kind: failed, err: eventstore.ErrClosed}
	for _, r := range queue {
		r.done <- closed
	}
	c.wg.Wait()
	for {
		select {
		case r := <-c.reqs:
			r.done <- closed
		default:
			return
		}
	}
}

// form takes from queue the next batch: in queue order, every request
// whose stream has no batch in flight, while the batch limits allow. A
// stream's first request in the batch is checked against the cache and
// carries the expected subject sequence; later requests to the same
// stream join it only when they expect Any, chained after it. The others
// wait, in order, in rest.
func (c *committer) form(queue []*appendReq, busy map[string]bool) (batch, rest []*appendReq) {
	virtual := make(map[string]streamState) // streams in the batch, as the batch leaves them
	deferred := make(map[string]bool)       // streams with a request left waiting
	msgs, size := 0, 0
	for _, r := range queue {
		if err := r.ctx.Err(); err != nil {
			r.done <- outcome{kind: failed, err: err}
			continue
		}
		n := len(r.events)
		if busy[r.stream] || deferred[r.stream] ||
			(len(batch) > 0 && (msgs+n > c.cfg.MaxBatchMessages || size+r.size > c.cfg.MaxBatchBytes)) {
			deferred[r.stream] = true
			rest = append(rest, r)
			continue
		}
		if st, ok := virtual[r.stream]; ok {
			if !r.expected.IsAny() {
				// Its expectation depends on the appends before it in this
				// batch: decide it once they are committed.
				deferred[r.stream] = true
				rest = append(rest, r)
				continue
			}
			r.base, r.chained = st, true
		} else {
			st, ok := c.cache.get(r.stream)
			if !ok {
				r.done <- outcome{kind: retry}
				continue
			}
			if v, cond := r.expected.Version(); cond && v != st.version {
				if v < st.version {
					c.stats.precheckConflicts.Add(1)
					r.done <- outcome{kind: conflict, state: st}
				} else {
					r.done <- outcome{kind: retry, state: st}
				}
				continue
			}
			r.base, r.chained = st, false
		}
		virtual[r.stream] = streamState{version: r.base.version + uint64(n)}
		batch = append(batch, r)
		msgs += n
		size += r.size
	}
	return batch, rest
}

// maxPipelinedSingles is the largest group of one-event appends published
// as separate messages rather than as an atomic batch. An atomic batch
// costs the server several fsyncs whatever its size (it stages the batch
// in a store of its own), a single message one: below about a dozen
// messages, separate messages are faster.
const maxPipelinedSingles = 12

// commit publishes batch as one atomic batch (one message alone is a
// plain publish) and answers each request.
func (c *committer) commit(batch []*appendReq) {
	if len(batch) > 1 && len(batch) <= maxPipelinedSingles && singles(batch) {
		c.commitSingles(batch)
		return
	}
	msgs := messages(batch)
	floor := c.guard.floor()
	ctx, cancel := c.epoch.requestContext(c.cfg.PublishTimeout)
	first, err := c.send(ctx, msgs)
	if err != nil {
		err = failure(ctx, err)
	}
	cancel()
	c.stats.publishes.Add(1)
	if err == nil {
		c.succeed(batch, first, floor)
		return
	}
	code, refused := apiCode(err)
	var dup errDuplicate
	switch {
	case errors.As(err, &dup):
		batch[0].done <- outcome{kind: duplicate}
	case refused && (code == codeBatchTooManyInflight || code == codeBatchIncomplete || code == codeDuplicateInProcess):
		// Transient, and about the batch as a whole.
		for _, r := range batch {
			r.done <- outcome{kind: retry, err: translate(err)}
		}
	case refused && len(batch) == 1:
		r := batch[0]
		switch code {
		case codeWrongLastSequence, codeWrongLastSequenceConstant:
			// The cache was stale: another process appended.
			c.cache.forget(r.stream)
			r.done <- outcome{kind: retry, err: translate(err)}
		case codeBatchDuplicate:
			r.done <- outcome{kind: duplicate}
		default:
			r.done <- outcome{kind: failed, err: translate(err)}
		}
	case refused:
		// The server refused the whole batch and stored nothing: find the
		// culprits by halves. Chained appends depend on the ones before
		// them; they go back to the queue.
		var heads []*appendReq
		for _, r := range batch {
			if r.chained {
				r.done <- outcome{kind: retry, err: translate(err)}
			} else {
				heads = append(heads, r)
			}
		}
		c.stats.splits.Add(1)
		half := (len(heads) + 1) / 2
		c.commit(heads[:half])
		if len(heads) > half {
			c.commit(heads[half:])
		}
	default:
		// A timeout or a lost connection: the batch may or may not be
		// stored. Forget what the cache knows; a retry with the same event
		// IDs is answered with the original result.
		for _, r := range batch {
			c.cache.forget(r.stream)
			r.done <- outcome{kind: failed, err: fmt.Errorf("outcome unknown, retry with the same event ids: %w", translate(unavailable(err)))}
		}
	}
}

// unavailable makes the store's own request timeouts read as unavailability
// rather than as the caller's deadline.
func unavailable(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: no answer in time: %w", eventstore.ErrUnavailable, err)
	}
	return err
}

// send publishes msgs atomically and returns the stream sequence of the
// first one.
func (c *committer) send(ctx context.Context, msgs []*nats.Msg) (uint64, error) {
	if len(msgs) == 1 {
		ack, err := c.js.PublishMsg(ctx, msgs[0])
		if err != nil {
			return 0, err
		}
		if ack.Duplicate {
			return 0, errDuplicate{seq: ack.Sequence}
		}
		return ack.Sequence, nil
	}
	ack, err := jetstreamext.PublishMsgBatch(ctx, c.js, msgs, jetstreamext.BatchFlowControl{AckFirst: false})
	if err != nil {
		return 0, err
	}
	if ack.BatchSize != uint64(len(msgs)) || ack.Sequence < uint64(len(msgs)) {
		return 0, fmt.Errorf("batch acknowledged %d messages up to %d, sent %d", ack.BatchSize, ack.Sequence, len(msgs))
	}
	return ack.Sequence - uint64(len(msgs)) + 1, nil
}

// succeed answers the requests of a batch stored from stream sequence
// first on, in order; sent when the guard's floor was floor, it must have
// landed above it (or it went into another stream: see guard).
func (c *committer) succeed(batch []*appendReq, first, floor uint64) {
	if err := c.guard.landed(first, floor); err != nil {
		for _, r := range batch {
			c.cache.forget(r.stream)
			r.done <- outcome{kind: failed, err: err}
		}
		return
	}
	seq := first
	for _, r := range batch {
		envs := make([]eventstore.Envelope, len(r.events))
		for i := range r.events {
			envs[i] = r.events[i].envelope(r.stream, r.base.version+uint64(i)+1, seq)
			seq++
		}
		st := streamState{version: r.base.version + uint64(len(r.events)), lastSeq: seq - 1}
		c.stats.appends.Add(1)
		c.stats.events.Add(uint64(len(r.events)))
		c.cache.put(r.stream, st)
		c.guard.observe(st.lastSeq)
		r.done <- outcome{kind: committed, res: eventstore.AppendResult{Events: envs, Version: st.version, Position: st.lastSeq}}
	}
}

// messages builds the messages of a batch: each carries its event ID as
// Nats-Msg-Id (server-side deduplication) and its version; a stream's
// first message carries the expected last subject sequence, which the
// server checks against the stream as it was before the batch.
func messages(batch []*appendReq) []*nats.Msg {
	var msgs []*nats.Msg
	for _, r := range batch {
		for i := range r.events {
			e := &r.events[i]
			hdr := nats.Header{
				headerMsgID:   []string{e.event.ID},
				HeaderVersion: []string{strconv.FormatUint(r.base.version+uint64(i)+1, 10)},
			}
			if i == 0 && !r.chained {
				hdr[headerExpectedSubSeq] = []string{strconv.FormatUint(r.base.lastSeq, 10)}
			}
			msgs = append(msgs, &nats.Msg{Subject: r.subject, Header: hdr, Data: e.payload})
		}
	}
	return msgs
}

// singles reports whether every append of batch is one event that does not
// depend on another append of the batch: then each may be published alone.
func singles(batch []*appendReq) bool {
	for _, r := range batch {
		if len(r.events) != 1 || r.chained {
			return false
		}
	}
	return true
}

// commitSingles publishes one-event appends as separate messages, all at
// once, and answers each from its own acknowledgement.
func (c *committer) commitSingles(batch []*appendReq) {
	msgs := messages(batch)
	floor := c.guard.floor()
	ctx, cancel := c.epoch.requestContext(c.cfg.PublishTimeout)
	defer cancel()
	futures := make([]njs.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := c.js.PublishMsgAsync(m)
		if err != nil {
			for _, r := range batch[i:] {
				c.cache.forget(r.stream)
				r.done <- outcome{kind: failed, err: fmt.Errorf("outcome unknown, retry with the same event ids: %w", translate(err))}
			}
			batch = batch[:i]
			break
		}
		futures[i] = f
	}
	c.stats.publishes.Add(uint64(len(batch)))
	for i, r := range batch {
		select {
		case ack := <-futures[i].Ok():
			if ack.Duplicate {
				r.done <- outcome{kind: duplicate}
				continue
			}
			c.succeed([]*appendReq{r}, ack.Sequence, floor)
		case err := <-futures[i].Err():
			code, refused := apiCode(err)
			switch {
			case refused && (code == codeWrongLastSequence || code == codeWrongLastSequenceConstant):
				c.cache.forget(r.stream)
				r.done <- outcome{kind: retry, err: translate(err)}
			case refused && code == codeDuplicateInProcess:
				r.done <- outcome{kind: retry, err: translate(err)}
			case refused:
				r.done <- outcome{kind: failed, err: translate(err)}
			default:
				c.cache.forget(r.stream)
				r.done <- outcome{kind: failed, err: fmt.Errorf("outcome unknown, retry with the same event ids: %w", translate(unavailable(err)))}
			}
		case <-ctx.Done():
			c.cache.forget(r.stream)
			r.done <- outcome{kind: failed, err: fmt.Errorf("outcome unknown, retry with the same event ids: %w", translate(unavailable(failure(ctx, ctx.Err()))))}
		}
	}
}
