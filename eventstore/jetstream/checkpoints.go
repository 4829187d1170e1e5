package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// CheckpointsStream is the stream of the verifiable log's published signed
// checkpoints, shared by every instance of a deployment, so that an
// auditor sees one history whichever instance answers. It has the ledger
// stream's replicas and durability, and denies delete and purge.
//
// WARNING: persisted; never rename the stream or its subject.
const CheckpointsStream = "LEDGER_CHECKPOINTS"

// checkpointsSubject is the subject every checkpoint is published on.
const checkpointsSubject = "ledger-checkpoints.published"

// hdrCheckpointSize carries a checkpoint's tree size.
const hdrCheckpointSize = "Ledger-Tree-Size"

// Checkpoints is the replicated list of published checkpoints. Appends are
// fenced: each states the sequence of the latest checkpoint its publisher
// knew, so two publishers can never both append after the same one (the
// loser is told with eventstore.ErrConcurrency and reads what it missed).
// It is safe for concurrent use.
type Checkpoints struct {
	js      njs.JetStream
	nc      *nats.Conn
	stream  njs.Stream
	name    string // the stream's name
	subject string // the subject every checkpoint is published on
}

// StoredCheckpoint is one published checkpoint as stored.
type StoredCheckpoint struct {
	// Seq is its place in the list, from 1.
	Seq uint64
	// Size is the tree size it signs.
	Size int64
	// Note is the signed note, as published.
	Note []byte
}

// Checkpoints opens the list of published checkpoints, creating its stream
// if needed.
func (s *Store) Checkpoints(ctx context.Context) (*Checkpoints, error) {
	return s.CheckpointList(ctx, CheckpointsStream, checkpointsSubject, "attestation ledger: published signed checkpoints of the verifiable log")
}

// JournalCheckpointsStream is the stream of the security journal's
// published signed checkpoints (package journal), like CheckpointsStream.
//
// WARNING: persisted; never rename the stream or its subject.
const JournalCheckpointsStream = "LEDGER_JOURNAL_CHECKPOINTS"

// JournalCheckpoints opens the list of the security journal's published
// checkpoints, creating its stream if needed.
func (s *Store) JournalCheckpoints(ctx context.Context) (*Checkpoints, error) {
	return s.CheckpointList(ctx, JournalCheckpointsStream, "ledger-journal-checkpoints.published",
		"attestation ledger: published signed checkpoints of the security journal")
}

// CheckpointList opens a list of published checkpoints kept in the
// stream name on subject, creating the stream if needed.
func (s *Store) CheckpointList(ctx context.Context, name, subject, description string) (*Checkpoints, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	st, err := s.js.CreateOrUpdateStream(ctx, njs.StreamConfig{
		Name:        name,
		Description: description,
		Subjects:    []string{subject},
		Storage:     njs.FileStorage,
		Replicas:    s.replicas(),
		Discard:     njs.DiscardNew,
		DenyDelete:  true,
		DenyPurge:   true,
		// No direct gets: a replica catching up could answer them with an
		// older list; the leader answers every read.
		MaxMsgSize: 64 * 1024,
	})
	if err != nil {
		return nil, fmt.Errorf("open checkpoints: %w", translate(err))
	}
	return &Checkpoints{js: s.js, nc: s.nc, stream: st, name: name, subject: subject}, nil
}

// replicas is the ledger stream's replica count, which every stream and
// bucket of the deployment shares.
func (s *Store) replicas() int {
	if s.stream == nil {
		return 1
	}
	return max(1, s.stream.CachedInfo().Config.Replicas)
}

// Append publishes note, signing a tree of size, as the checkpoint after
// the one of sequence after (0: the first). It fails with
// eventstore.ErrConcurrency if another checkpoint was published after it.
func (c *Checkpoints) Append(ctx context.Context, after uint64, size int64, note []byte) (uint64, error) {
	msg := nats.NewMsg(c.subject)
	msg.Data = note
	msg.Header.Set(hdrCheckpointSize, strconv.FormatInt(size, 10))
	ack, err := c.js.PublishMsg(ctx, msg, njs.WithExpectLastSequence(after), njs.WithExpectStream(c.name))
	if err != nil {
		if code, ok := apiCode(err); ok && (code == codeWrongLastSequence || code == codeWrongLastSequenceConstant) {
			return 0, fmt.Errorf("publish checkpoint %d after #%d: %w", size, after, eventstore.ErrConcurrency)
		}
		return 0, fmt.Errorf("publish checkpoint %d: %w", size, translate(err))
	}
	return ack.Sequence, nil
}

// Read returns at most limit checkpoints from sequence from on, in order.
func (c *Checkpoints) Read(ctx context.Context, from uint64, limit int) ([]StoredCheckpoint, error) {
	if from == 0 {
		from = 1
	}
	var out []StoredCheckpoint
	for seq := from; len(out) < limit; seq++ {
		m, err := c.stream.GetMsg(ctx, seq, njs.WithGetMsgSubject(c.subject))
		if errors.Is(err, njs.ErrMsgNotFound) {
			// Past the end (the list has no gaps: delete is denied).
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("read checkpoint #%d: %w", seq, translate(err))
		}
		size, err := strconv.ParseInt(m.Header.Get(hdrCheckpointSize), 10, 64)
		if err != nil {
			return out, fmt.Errorf("read checkpoint #%d: bad %s header: %w", seq, hdrCheckpointSize, err)
		}
		out = append(out, StoredCheckpoint{Seq: m.Sequence, Size: size, Note: m.Data})
	}
	return out, nil
}

// Last returns the sequence of the latest checkpoint (0 when none).
func (c *Checkpoints) Last(ctx context.Context) (uint64, error) {
	info, err := c.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("checkpoints: %w", translate(err))
	}
	return info.State.LastSeq, nil
}

// Wait blocks until a checkpoint after sequence after is published, the
// poll interval passes, or ctx ends; it tells which by returning ctx's
// error only in the last case. Publications by any instance wake it at
// once; the poll is a backstop for a missed wake-up.
func (c *Checkpoints) Wait(ctx context.Context, after uint64, poll time.Duration) error {
	ch := make(chan *nats.Msg, 1)
	sub, err := c.nc.ChanSubscribe(c.subject, ch)
	if err == nil {
		defer func() { _ = sub.Unsubscribe() }()
	}
	if last, err := c.Last(ctx); err == nil && last > after {
		return nil
	}
	t := time.NewTimer(poll)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
