package journal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// ErrTreeGap: the journal stream no longer holds the entries the tree
// needs next (they expired before this instance's tree took them in).
var ErrTreeGap = errs.New(errs.Unavailable, "journal: the stream's oldest entry is past the tree")

// followTree follows the journal stream into the tree, from its size + 1,
// publishing a signed checkpoint at most every CheckpointInterval while
// it grows, until ctx ends.
func (j *Journal) followTree(ctx context.Context) {
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		err := j.followOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		j.setTreeErr(err)
		j.log.Warn("journal: following the journal stream into its tree failed; following again", "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (j *Journal) followOnce(ctx context.Context) error {
	info, err := j.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("follow the journal stream: %w", err)
	}
	if size, _ := j.tree.Size(); info.State.FirstSeq > uint64(size)+1 {
		// Entries expired before this tree took them: their hashes are in
		// the archive (checked against the signed checkpoints at the next
		// publication).
		if err := j.hashes.seed(ctx, j.tree, int64(info.State.FirstSeq)-1); err != nil {
			return err
		}
	}
	size, _ := j.tree.Size()
	cons, err := j.js.OrderedConsumer(ctx, StreamName, njs.OrderedConsumerConfig{
		DeliverPolicy: njs.DeliverByStartSequencePolicy, OptStartSeq: uint64(size) + 1,
	})
	if err != nil {
		return fmt.Errorf("follow the journal stream from %d: %w", size+1, err)
	}
	var lastCP time.Time
	for ctx.Err() == nil {
		batch, release, err := fetch(ctx, cons, 1024, 200*time.Millisecond)
		if err != nil {
			return fmt.Errorf("follow the journal stream: %w", err)
		}
		var hashes []tlog.Hash
		first := int64(-1)
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("follow the journal stream: %w", err)
			}
			want := uint64(size) + uint64(len(hashes)) + 1
			if md.Sequence.Stream != want {
				return fmt.Errorf("%w: entry %d arrived, the tree needs %d next", ErrTreeGap, md.Sequence.Stream, want)
			}
			leaf, err := Leaf(md.Sequence.Stream, m.Data())
			if err != nil {
				return err
			}
			if first < 0 {
				first = int64(md.Sequence.Stream) - 1
			}
			hashes = append(hashes, tlog.RecordHash(leaf))
		}
		release()
		if err := batch.Error(); err != nil && !errors.Is(err, njs.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("follow the journal stream: %w", err)
		}
		if len(hashes) > 0 {
			if size, err = j.tree.AppendHashes(ctx, first, hashes...); err != nil {
				return err
			}
		}
		if latest, _ := j.tree.Latest(); latest.Size < size && time.Since(lastCP) >= j.cfg.CheckpointInterval {
			if _, err := j.tree.Checkpoint(ctx); err != nil {
				return err
			}
			lastCP = time.Now()
		}
		if j.tree.Publishing() {
			if err := j.hashes.archive(ctx, j.tree); err != nil {
				return err
			}
		}
		j.setTreeErr(nil)
		if d := j.w.dropped.Load(); d > j.reportedLoss {
			// The loss itself goes into the journal, where an auditor sees it.
			_ = j.Record(Entry{Action: JournalLoss, Result: Error, Subject: "ledger",
				Detail: map[string]string{"dropped": strconv.FormatUint(d-j.reportedLoss, 10)}})
			j.reportedLoss = d
		}
	}
	return nil
}

func (j *Journal) setTreeErr(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.treeErr = err
}

// WaitTree waits until the tree holds at least size leaves, or ctx ends.
func (j *Journal) WaitTree(ctx context.Context, size int64) error {
	for {
		if n, _ := j.tree.Size(); n >= size {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the journal tree to reach %d: %w", size, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
