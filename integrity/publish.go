package integrity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// maxPublishTries bounds how often Checkpoint re-reads the list and tries
// again when another publisher was first.
const maxPublishTries = 3

// Checkpoint publishes a signed checkpoint of the committed tree if it has
// grown since the latest one (or if none was published yet), and returns
// the latest checkpoint. Before publishing, it checks with a consistency
// proof that the tree extends the latest checkpoint; if not, it publishes
// nothing and fails with ErrInconsistent. While the tree is smaller than
// the latest checkpoint (being rebuilt, or behind the instance that
// published it), it publishes nothing.
//
// With a shared store, it first reads what other instances published, and
// publishes only while it holds Config.Lease; a publication refused because
// another was first is retried on top of it.
func (l *Log) Checkpoint(ctx context.Context) (SignedCheckpoint, error) {
	if err := ctx.Err(); err != nil {
		return SignedCheckpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	for try := 1; ; try++ {
		if l.file == nil {
			if err := l.refreshLocked(ctx, true, true); err != nil {
				latest, _ := l.Latest()
				return latest, fmt.Errorf("checkpoint: %w", err)
			}
		}
		if err := l.checkCovered(); err != nil {
			latest, _ := l.Latest()
			return latest, fmt.Errorf("checkpoint: %w", err)
		}
		if !l.holdLeaseLocked(ctx) {
			latest, _ := l.Latest()
			return latest, nil
		}
		c, err := l.publishLocked(ctx)
		if errors.Is(err, eventstore.ErrConcurrency) && try < maxPublishTries {
			l.log.Info("integrity: another instance published a checkpoint first; reading it and trying again", "err", err)
			continue
		}
		return c, err
	}
}

// publishLocked signs the tree and appends it to the store after the
// latest checkpoint (pubMu held).
func (l *Log) publishLocked(ctx context.Context) (SignedCheckpoint, error) {
	l.mu.RLock()
	prev, havePrev := l.list.latest()
	seq := uint64(len(l.list.notes))
	l.mu.RUnlock()
	var cur Checkpoint
	var proof tlog.TreeProof
	err := l.tree.view(func(size int64, root tlog.Hash, r tlog.HashReader) error {
		cur = Checkpoint{Origin: l.cfg.Origin, Size: size, Root: root}
		if havePrev && prev.Size > 0 && size > prev.Size {
			var err error
			proof, err = tlog.ProveTree(size, prev.Size, r)
			return err
		}
		return nil
	})
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	if havePrev {
		switch {
		case cur.Size < prev.Size:
			return prev, nil // catching up
		case cur.Size == prev.Size && cur.Root == prev.Root:
			return prev, nil
		case cur.Size == prev.Size:
			err = errors.New("roots differ")
		case prev.Size > 0:
			err = tlog.CheckTree(proof, cur.Size, cur.Root, prev.Size, prev.Root)
		}
		if err != nil {
			l.log.Error("integrity: INTEGRITY ALARM: the tree does not extend the latest signed checkpoint; no checkpoint published",
				"checkpoint", prev.Size, "tree", cur.Size, "err", err)
			return prev, fmt.Errorf("checkpoint %d after %d: %w: %v", cur.Size, prev.Size, ErrInconsistent, err)
		}
	}
	signed, err := note.Sign(&note.Note{Text: string(cur.Text())}, l.key.signer)
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("sign checkpoint %d: %w", cur.Size, err)
	}
	if _, err := l.store.Append(ctx, seq, cur.Size, signed); err != nil {
		return prev, err
	}
	c := SignedCheckpoint{Checkpoint: cur, Note: signed}
	l.add(c, true)
	l.log.Debug("integrity: checkpoint published", "size", cur.Size, "root", cur.Root.String())
	return c, nil
}

// holdLeaseLocked reports whether this instance may publish: always
// without a lease; with one, while it holds it, renewed when a third of
// its ttl has passed (pubMu held). An instance that cannot tell does not
// publish.
func (l *Log) holdLeaseLocked(ctx context.Context) bool {
	if l.cfg.Lease == nil {
		return true
	}
	if l.leaseHeld && time.Since(l.leaseAt) < l.cfg.LeaseTTL/3 {
		return true
	}
	held, token, err := l.cfg.Lease.Acquire(ctx)
	if err != nil {
		l.log.Warn("integrity: cannot renew or take the checkpoint publisher lease; publishing nothing", "err", err)
		held = false
	}
	if held != l.leaseHeld {
		if held {
			l.log.Info("integrity: this instance now publishes the checkpoints", "token", token)
		} else {
			l.log.Info("integrity: this instance no longer publishes the checkpoints; it serves the holder's")
		}
	}
	l.leaseHeld = held
	if held {
		l.leaseAt = time.Now()
	}
	return held
}

// Publishing reports whether this instance publishes the checkpoints:
// always without a lease, else while it holds the lease.
func (l *Log) Publishing() bool {
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	return l.cfg.Lease == nil || (l.leaseHeld && time.Since(l.leaseAt) < l.cfg.LeaseTTL)
}

// renewLease renews the lease if this instance holds it, or takes it if
// it is free.
func (l *Log) renewLease(ctx context.Context) {
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	l.holdLeaseLocked(ctx)
}

// Release gives the publisher lease up, if held, so that another instance
// takes it at once rather than after its ttl.
func (l *Log) Release(ctx context.Context) error {
	if l.cfg.Lease == nil {
		return nil
	}
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	l.leaseHeld = false
	if err := l.cfg.Lease.Release(ctx); err != nil {
		return fmt.Errorf("release the checkpoint publisher lease: %w", err)
	}
	return nil
}
