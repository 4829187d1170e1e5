package integrity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// seedShared carries a single instance's history over when it joins a
// shared store: if the shared list is empty and Config.Dir holds a local
// file of checkpoints (signed with this deployment's key), they are
// published into the shared list first, in order, so that the checkpoints
// auditors already hold stay served. Another instance seeding at the same
// time wins or loses as a whole note by note (appends are fenced); the
// list is then read again.
func (l *Log) seedShared(ctx context.Context) error {
	if l.file != nil {
		return nil
	}
	if _, ok := l.Latest(); ok {
		return nil
	}
	if _, err := os.Stat(filepath.Join(l.cfg.Dir, checkpointsName)); err != nil {
		return nil // no local history
	}
	local, err := openCheckpointFile(l.cfg.Dir, l.log)
	if err != nil {
		return fmt.Errorf("seed the shared checkpoints: %w", err)
	}
	defer func() { _ = local.close() }()
	notes, err := local.Read(ctx, 1, len(local.refs))
	if err != nil || len(notes) == 0 {
		return err
	}
	// Only this deployment's notes: checked like any note of the list.
	for _, n := range notes {
		if _, err := openCheckpoint(n.Note, l.key.verifier); err != nil {
			l.log.Warn("integrity: the local checkpoints are not this deployment's; not carried over", "err", err)
			return nil
		}
	}
	for i, n := range notes {
		if _, err := l.store.Append(ctx, uint64(i), n.Size, n.Note); err != nil {
			if errors.Is(err, eventstore.ErrConcurrency) {
				break // another instance is seeding, or published: read it
			}
			return fmt.Errorf("seed the shared checkpoints: %w", err)
		}
	}
	l.log.Info("integrity: the local checkpoints were carried over into the shared list", "checkpoints", len(notes))
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	return l.refreshLocked(ctx, true, false)
}
