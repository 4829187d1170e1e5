package journal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// HashesStream keeps the leaf hashes of the journal for ever (32 bytes an
// entry, no retention), in chunks, so that an instance whose tree starts
// after entries expired can still build it: it takes the expired leaves'
// hashes from here and the rest from the journal stream. The hashes are
// trusted only as far as they reproduce the signed checkpoints.
//
// WARNING: persisted; never rename the stream or its subject.
const HashesStream = "LEDGER_JOURNAL_HASHES"

const (
	hashesSubject = "ledger-journal-hashes.chunk"
	// hdrFirst is a chunk's first leaf index.
	hdrFirst = "Ledger-Journal-First"
	// chunkLeaves is the most leaves of a chunk (128 KiB).
	chunkLeaves = 4096
)

// hashArchive writes and reads the chunks of HashesStream. A chunk is
// written when chunkLeaves leaves wait, or when the last chunk is older
// than a quarter of the retention: the leaves not archived yet are then
// all younger than that, still in the journal stream.
type hashArchive struct {
	js    njs.JetStream
	every time.Duration

	end     int64  // leaves archived
	lastSeq uint64 // the last chunk's sequence
	lastAt  time.Time
}

func openHashArchive(ctx context.Context, cfg Config) (*hashArchive, error) {
	_, err := cfg.JetStream.CreateOrUpdateStream(ctx, njs.StreamConfig{
		Name:        HashesStream,
		Description: "attestation ledger: the security journal's leaf hashes, kept beyond the journal's retention",
		Subjects:    []string{hashesSubject},
		Storage:     njs.FileStorage,
		Discard:     njs.DiscardNew,
		Replicas:    cfg.Replicas,
		DenyDelete:  true,
		DenyPurge:   true,
		MaxMsgSize:  chunkLeaves*tlog.HashSize + 1024,
	})
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, fmt.Errorf("open the journal's hash archive: %w", err))
	}
	a := &hashArchive{js: cfg.JetStream, every: cfg.Retention / 4, lastAt: time.Now()}
	if err := a.reload(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// reload reads where the archive ends.
func (a *hashArchive) reload(ctx context.Context) error {
	st, err := a.js.Stream(ctx, HashesStream)
	if err != nil {
		return fmt.Errorf("journal hash archive: %w", err)
	}
	m, err := st.GetLastMsgForSubject(ctx, hashesSubject)
	if errors.Is(err, njs.ErrMsgNotFound) {
		a.end, a.lastSeq = 0, 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal hash archive: %w", err)
	}
	first, n, err := chunkRange(m.Header, m.Data)
	if err != nil {
		return err
	}
	a.end, a.lastSeq, a.lastAt = first+n, m.Sequence, m.Time
	return nil
}

func chunkRange(h nats.Header, data []byte) (first, n int64, err error) {
	first, err = strconv.ParseInt(h.Get(hdrFirst), 10, 64)
	if err != nil || first < 0 || len(data)%tlog.HashSize != 0 {
		return 0, 0, fmt.Errorf("journal hash archive: malformed chunk")
	}
	return first, int64(len(data) / tlog.HashSize), nil
}

// archive writes the chunks that are due. Chunks are fenced on the last
// one's sequence: two instances never write the same leaves twice.
func (a *hashArchive) archive(ctx context.Context, tree *integrity.Log) error {
	for {
		size, _ := tree.Size()
		waiting := size - a.end
		if waiting <= 0 || (waiting < chunkLeaves && time.Since(a.lastAt) < a.every) {
			return nil
		}
		n := min(waiting, chunkLeaves)
		hs, err := tree.LeafHashes(a.end, a.end+n)
		if err != nil {
			return err
		}
		msg := nats.NewMsg(hashesSubject)
		msg.Header.Set(hdrFirst, strconv.FormatInt(a.end, 10))
		msg.Data = make([]byte, 0, len(hs)*tlog.HashSize)
		for _, h := range hs {
			msg.Data = append(msg.Data, h[:]...)
		}
		ack, err := a.js.PublishMsg(ctx, msg, njs.WithExpectLastSequence(a.lastSeq), njs.WithExpectStream(HashesStream))
		if err != nil {
			var apiErr *njs.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorCode == njs.JSErrCodeStreamWrongLastSequence {
				if err := a.reload(ctx); err != nil { // another instance archived first
					return err
				}
				continue
			}
			return fmt.Errorf("journal hash archive: %w", err)
		}
		a.end, a.lastSeq, a.lastAt = a.end+n, ack.Sequence, time.Now()
	}
}

// seed appends to tree, from the archive, the leaves from its size up to
// upTo (the journal stream's first kept position − 1).
func (a *hashArchive) seed(ctx context.Context, tree *integrity.Log, upTo int64) error {
	size, _ := tree.Size()
	if size >= upTo {
		return nil
	}
	cons, err := a.js.OrderedConsumer(ctx, HashesStream, njs.OrderedConsumerConfig{})
	if err != nil {
		return fmt.Errorf("journal hash archive: %w", err)
	}
	for size < upTo {
		batch, release, err := fetch(ctx, cons, 64, time.Second)
		if err != nil {
			return fmt.Errorf("journal hash archive: %w", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			first, n, err := chunkRange(m.Headers(), m.Data())
			if err != nil {
				return err
			}
			if first > size {
				return fmt.Errorf("%w: the hash archive skips from leaf %d to %d", ErrTreeGap, size, first)
			}
			if first+n <= size || size >= upTo {
				continue
			}
			hs := make([]tlog.Hash, 0, n)
			for i := size - first; i < n && first+i < upTo; i++ {
				var h tlog.Hash
				copy(h[:], m.Data()[i*tlog.HashSize:])
				hs = append(hs, h)
			}
			if size, err = tree.AppendHashes(ctx, size, hs...); err != nil {
				return err
			}
		}
		release()
		if got == 0 {
			return fmt.Errorf("%w: the hash archive ends at leaf %d, the journal stream at %d", ErrTreeGap, size, upTo+1)
		}
	}
	return nil
}
