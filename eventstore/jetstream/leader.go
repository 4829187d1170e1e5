package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Reads from the leader.
//
// A direct get (ADR-31) may be answered by any replica of the stream, and
// a replica that has just come back may answer with what it had before it
// caught up: on a cluster, a stream read that way can be behind what the
// store acknowledged. That is harmless for loading an aggregate (an append
// decided on a stale state is refused by the leader's expected-sequence
// check and decided again), but not for telling a retried append from a
// conflict: that must see every acknowledged event. Those reads go to the
// stream's leader through the JetStream API's message get, which only the
// leader answers.

// leaderGetRequest is a JetStream message get request.
type leaderGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	LastFor string `json:"last_by_subj,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
	// NoHeaders leaves the message's headers out of the answer.
	NoHeaders bool `json:"no_hdr,omitempty"`
}

// leaderGetResponse is the JetStream API's answer to a message get.
type leaderGetResponse struct {
	Message *leaderMsg `json:"message,omitempty"`
	Error   *struct {
		Code        int    `json:"code"`
		ErrorCode   int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error,omitempty"`
}

// errNoMessageCode is nats-server's JSNoMessageFoundErr.
const errNoMessageCode = 10037

// leaderGet asks the leader for one message of the ledger stream; found
// is false when none matches.
func (s *Store) leaderGet(ctx context.Context, req leaderGetRequest) (env eventstore.Envelope, found bool, err error) {
	m, err := s.leaderGetRaw(ctx, req)
	if err != nil || m == nil {
		return env, false, err
	}
	var hdr nats.Header
	if len(m.Header) > 0 {
		if hdr, err = nats.DecodeHeadersMsg(m.Header); err != nil {
			return env, false, fmt.Errorf("get from the stream leader: %w", err)
		}
	}
	env, err = decode(m.Subject, m.Sequence, hdr, m.Data)
	return env, err == nil, err
}

// leaderMsg is a message as the JetStream API's message get returns it.
type leaderMsg struct {
	Subject  string `json:"subject"`
	Sequence uint64 `json:"seq"`
	Header   []byte `json:"hdrs,omitempty"`
	Data     []byte `json:"data,omitempty"`
}

// leaderGetRaw asks the leader for one message of the ledger stream, as
// stored; nil when none matches.
func (s *Store) leaderGetRaw(ctx context.Context, req leaderGetRequest) (*leaderMsg, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	rctx, cancel := s.requestContext(ctx)
	defer cancel()
	msg, err := s.askLeader(rctx, body)
	if err != nil {
		return nil, s.fail(ctx, fmt.Errorf("get from the stream leader: %w", err))
	}
	var resp leaderGetResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("get from the stream leader: %w", err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == errNoMessageCode {
			return nil, nil
		}
		return nil, fmt.Errorf("get from the stream leader: %w: %s (%d)", eventstore.ErrUnavailable, resp.Error.Description, resp.Error.ErrorCode)
	}
	if resp.Message == nil {
		return nil, fmt.Errorf("get from the stream leader: %w: empty answer", eventstore.ErrUnavailable)
	}
	return resp.Message, nil
}

// leaderHead returns the position of the last event of the ledger, as the
// leader has it, at the end of a whole append (0 when the ledger is
// empty).
//
// The server applies an atomic batch to the stream one message at a time,
// and the stream's info and consumers show each message as soon as it is
// stored (on a single server even before the batch's one fsync), so they
// can show the first events of an append without the others. A message get
// is isolated from that: it waits until the batch being applied is applied
// in full. Reads of the log stop at this position, so they never return
// part of an append.
func (s *Store) leaderHead(ctx context.Context) (uint64, error) {
	m, err := s.leaderGetRaw(ctx, leaderGetRequest{LastFor: ">", NoHeaders: true})
	if err != nil || m == nil {
		return 0, err
	}
	return m.Sequence, nil
}

// leaderLastState reads a stream's state from its last message, as the
// leader has it.
func (s *Store) leaderLastState(ctx context.Context, stream string) (streamState, error) {
	env, found, err := s.leaderGet(ctx, leaderGetRequest{LastFor: Subject(stream)})
	if err != nil || !found {
		return streamState{}, err
	}
	return streamState{version: env.Version, lastSeq: env.Position}, nil
}

// leaderReadStream returns the events of stream from version from on (at
// most limit when limit > 0), as the leader has them: one request per
// event, for the few events of a retried append.
func (s *Store) leaderReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Envelope, error) {
	var out []eventstore.Envelope
	subject := Subject(stream)
	for seq := uint64(1); limit <= 0 || len(out) < limit; {
		env, found, err := s.leaderGet(ctx, leaderGetRequest{Seq: seq, NextFor: subject})
		if err != nil {
			return out, err
		}
		if !found {
			return out, nil
		}
		if env.Version >= from {
			out = append(out, env)
		}
		seq = env.Position + 1
	}
	return out, nil
}

// leaderAttempt bounds one message get from the leader. Only the leader
// answers one: while a cluster elects a new leader (4-9 s), a request goes
// unanswered, so it is asked again every leaderAttempt until ctx ends,
// and the first answer after the election is taken at once.
const leaderAttempt = 1500 * time.Millisecond

// askLeader sends a message get to the stream leader until it answers or
// ctx ends.
func (s *Store) askLeader(ctx context.Context, body []byte) (*nats.Msg, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, leaderAttempt)
		msg, err := s.nc.RequestWithContext(actx, njs.DefaultAPIPrefix+"STREAM.MSG.GET."+StreamName, body)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, nats.ErrNoResponders) {
			return msg, err
		}
		if errors.Is(err, nats.ErrNoResponders) {
			select {
			case <-ctx.Done():
				return nil, err
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}
