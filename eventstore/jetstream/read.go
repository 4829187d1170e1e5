package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// readPage is the number of messages asked for in one direct batch get.
const readPage = 1000

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64) ([]eventstore.Envelope, error) {
	if err := s.ready(ctx); err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	if err := eventstore.ValidateStream(stream); err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	envs, err := s.readStream(ctx, stream, from, 0)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	return envs, nil
}

// readStream returns the events of stream from version from on, at most
// limit of them when limit > 0.
func (s *Store) readStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Envelope, error) {
	var out []eventstore.Envelope
	err := s.direct(ctx, Subject(stream), 1, func(e eventstore.Envelope) bool {
		if e.Version < from {
			return true
		}
		out = append(out, e)
		return limit <= 0 || len(out) < limit
	})
	return out, err
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, from uint64, limit int) ([]eventstore.Envelope, error) {
	if err := s.ready(ctx); err != nil {
		return nil, fmt.Errorf("read log from %d: %w", from, err)
	}
	if limit <= 0 {
		return nil, nil
	}
	out, err := s.readAll(ctx, max(from, 1), limit)
	// On a cluster a read can fail for a moment while a stream leader
	// changes or a replica catches up after a partition: try again, with a
	// new consumer, before answering "unavailable".
	for attempt := 1; err != nil && attempt < readAttempts && errors.Is(err, eventstore.ErrUnavailable) && !s.isClosed(); attempt++ {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read log from %d: %w", from, ctx.Err())
		case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
		}
		s.log.Debug("eventstore: reading the log again", "from", from, "attempt", attempt+1, "err", err)
		out, err = s.readAll(ctx, max(from, 1), limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read log from %d: %w", from, err)
	}
	return out, nil
}

// readAttempts bounds the tries of one ReadAll.
const readAttempts = 4

// readAll reads up to limit events from position from on with a short-lived
// ordered consumer: the server sends stored messages to a consumer as they
// are, where a direct get rewrites every message's headers, which costs
// several times more when reading the whole log. A consumer also shows an
// atomic batch's messages as the server applies them, one by one, so the
// read stops at the last position of a whole append, which the leader
// tells first.
func (s *Store) readAll(ctx context.Context, from uint64, limit int) ([]eventstore.Envelope, error) {
	// Not the stream's info: it can end inside an append (see leaderHead).
	last, err := s.leaderHead(ctx)
	if err != nil {
		return nil, err
	}
	if from > last {
		return nil, nil
	}
	rctx, cancel := s.requestContext(ctx)
	defer cancel()
	want := int(min(uint64(limit), last-from+1))
	cfg := njs.OrderedConsumerConfig{DeliverPolicy: njs.DeliverAllPolicy, InactiveThreshold: 30 * time.Second}
	if from > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = njs.DeliverByStartSequencePolicy, from
	}
	cons, err := s.stream.OrderedConsumer(rctx, cfg)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	defer func() {
		// Remove the consumer now rather than when the server notices it
		// is idle.
		if info := cons.CachedInfo(); info != nil {
			_ = s.stream.DeleteConsumer(rctx, info.Name)
		}
	}()
	out := make([]eventstore.Envelope, 0, want)
	for len(out) < want {
		batch, err := cons.Fetch(want-len(out), njs.FetchContext(rctx))
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		for msg := range batch.Messages() {
			meta, err := msg.Metadata()
			if err != nil {
				return nil, err
			}
			env, err := decode(msg.Subject(), meta.Sequence.Stream, msg.Headers(), msg.Data())
			if err != nil {
				return nil, err
			}
			if env.Position != from+uint64(len(out)) {
				return nil, fmt.Errorf("%w: read log: got position %d, want %d", eventstore.ErrUnavailable, env.Position, from+uint64(len(out)))
			}
			out = append(out, env)
		}
		if err := batch.Error(); err != nil && len(out) < want {
			return nil, s.fail(ctx, err)
		}
	}
	return out, nil
}

// direct reads the messages of subject from sequence seq on with direct
// batch gets (cheap for the few events of one stream), calling yield for
// each event until it returns false or the stream ends.
func (s *Store) direct(ctx context.Context, subject string, seq uint64, yield func(eventstore.Envelope) bool) error {
	for {
		rctx, cancel := s.requestContext(ctx)
		n, next, stop, err := s.directPage(rctx, subject, seq, readPage, yield)
		cancel()
		if err != nil {
			return s.fail(ctx, err)
		}
		if stop || next == 0 || n == 0 {
			return nil
		}
		seq = next
	}
}

// directRequest is a JetStream direct get request (ADR-31).
type directRequest struct {
	Seq     uint64 `json:"seq"`
	Batch   int    `json:"batch"`
	NextFor string `json:"next_by_subj,omitempty"`
}

// directPage asks for up to batch messages from seq on and yields them. It
// returns how many it read, the sequence to continue from (0 when no more
// messages match), and whether yield asked to stop. Unlike a plain
// request-many, it insists on the server's end-of-batch marker: a page cut
// short by a timeout or a lost connection is an error, never a short read.
func (s *Store) directPage(ctx context.Context, subject string, seq uint64, batch int, yield func(eventstore.Envelope) bool) (n int, next uint64, stop bool, err error) {
	req, err := json.Marshal(directRequest{Seq: seq, Batch: batch, NextFor: subject})
	if err != nil {
		return 0, 0, false, err
	}
	inbox := s.nc.NewRespInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return 0, 0, false, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := s.nc.PublishRequest(s.directSubject, inbox, req); err != nil {
		return 0, 0, false, err
	}
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return n, 0, false, fmt.Errorf("direct get from %d: %w", seq, err)
		}
		if len(msg.Data) == 0 && msg.Header.Get("Status") != "" {
			switch status := msg.Header.Get("Status"); status {
			case "204": // end of batch
				if pending, _ := strconv.ParseUint(msg.Header.Get("Nats-Num-Pending"), 10, 64); pending == 0 || n == 0 {
					return n, 0, false, nil
				}
				return n, next, false, nil
			case "404": // no (more) matching message
				return n, 0, false, nil
			default:
				return n, 0, false, fmt.Errorf("direct get from %d: status %s %s", seq, status, msg.Header.Get("Description"))
			}
		}
		msgSeq, err := strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil {
			return n, 0, false, fmt.Errorf("direct get from %d: bad Nats-Sequence header: %w", seq, err)
		}
		env, err := decode(msg.Header.Get("Nats-Subject"), msgSeq, msg.Header, msg.Data)
		if err != nil {
			return n, 0, false, err
		}
		n++
		next = msgSeq + 1
		if !yield(env) {
			return n, next, true, nil
		}
	}
}
