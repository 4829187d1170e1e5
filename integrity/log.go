package integrity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Log is the verifiable log: the Merkle tree of the event log, kept on
// disk, and the signed checkpoints of its growth. It is safe for concurrent
// use; Run keeps it following the event store.
type Log struct {
	cfg  Config
	log  *slog.Logger
	key  *key
	tree *tree

	pubMu sync.Mutex // serializes publishing

	mu        sync.RWMutex // guards what follows
	cps       *checkpointFile
	changed   chan struct{} // closed and replaced at every publication
	lastAudit *AuditResult  // the latest SelfAudit
}

// Open opens the verifiable log in cfg.Dir, creating it (and the signing
// key in cfg.KeyDir) at first start, and recovers the tree to its last
// consistent commit. If the tree does not reproduce the latest checkpoint,
// it is reset to be rebuilt from the log by Run or Rebuild.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	if err := os.MkdirAll(cfg.KeyDir, 0o700); err != nil {
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	k, err := loadOrCreateKey(cfg.KeyDir, cfg.Origin)
	if err != nil {
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	t, err := openTree(cfg.Dir, cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	cps, err := openCheckpointFile(cfg.Dir, k, cfg.Logger)
	if err != nil {
		_ = t.close()
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	l := &Log{cfg: cfg, log: cfg.Logger, key: k, tree: t, cps: cps, changed: make(chan struct{})}
	if latest, ok := l.Latest(); ok {
		err := l.checkAgainst(latest.Checkpoint)
		if errors.Is(err, ErrInconsistent) {
			l.log.Error("integrity: the stored tree does not reproduce the latest checkpoint; resetting it to rebuild from the log", "err", err)
			err = t.reset()
		}
		if err != nil {
			_ = l.Close()
			return nil, fmt.Errorf("open integrity log: %w", err)
		}
	}
	size, root, _ := t.snapshot()
	l.log.Info("integrity: log open", "dir", cfg.Dir, "origin", cfg.Origin, "size", size, "root", root.String(), "verifierKey", k.vkey)
	return l, nil
}

// Close releases the files. Run must have returned.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.tree.close(), l.cps.close())
}

// Origin returns the checkpoints' origin line, the signing key's name.
func (l *Log) Origin() string { return l.cfg.Origin }

// VerifierKey returns the note verifier key of the checkpoints, as served
// by GET /v1/ledger/verifier-key: "name+hash+base64".
func (l *Log) VerifierKey() string { return l.key.vkey }

// Size returns the number of leaves in the committed tree and its root.
func (l *Log) Size() (size int64, root tlog.Hash) {
	size, root, _ = l.tree.snapshot()
	return size, root
}

// Append adds events to the tree as its next leaves, durably. They must
// be consecutive, the first at position Size()+1: anything else fails with
// ErrOutOfOrder and appends nothing. It returns the new size. Run calls it;
// call it directly only when not running Run.
func (l *Log) Append(ctx context.Context, events ...eventstore.Envelope) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("append leaves: %w", err)
	}
	if len(events) == 0 {
		size, _ := l.Size()
		return size, nil
	}
	hashes := make([]tlog.Hash, len(events))
	for i, env := range events {
		if env.Position != events[0].Position+uint64(i) || env.Position == 0 {
			return 0, fmt.Errorf("append leaves: %w: position %d follows position %d", ErrOutOfOrder, env.Position, events[0].Position+uint64(i)-1)
		}
		entry, err := Entry(env)
		if err != nil {
			return 0, fmt.Errorf("append leaves: %w", err)
		}
		hashes[i] = LeafHash(entry)
	}
	size, err := l.tree.append(int64(events[0].Position)-1, hashes)
	if err != nil {
		return size, fmt.Errorf("append leaves at position %d: %w", events[0].Position, err)
	}
	return size, nil
}

// Latest returns the latest published checkpoint, and false if none was.
func (l *Log) Latest() (SignedCheckpoint, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cps.latest, len(l.cps.refs) > 0
}

// CheckpointAt returns the published checkpoint of the given size, or
// ErrNoCheckpoint.
func (l *Log) CheckpointAt(ctx context.Context, size int64) (SignedCheckpoint, error) {
	if err := ctx.Err(); err != nil {
		return SignedCheckpoint{}, fmt.Errorf("checkpoint %d: %w", size, err)
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	c, ok, err := l.cps.find(size)
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("checkpoint %d: %w", size, err)
	}
	if !ok {
		return SignedCheckpoint{}, fmt.Errorf("checkpoint %d: %w", size, ErrNoCheckpoint)
	}
	return c, nil
}

// CheckpointSizes returns the sizes of all published checkpoints, in order.
func (l *Log) CheckpointSizes() []int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]int64, len(l.cps.refs))
	for i, r := range l.cps.refs {
		out[i] = r.size
	}
	return out
}

// WaitCheckpoint waits until a checkpoint of at least the given size is
// published, and returns the latest.
func (l *Log) WaitCheckpoint(ctx context.Context, size int64) (SignedCheckpoint, error) {
	for {
		l.mu.RLock()
		latest, ok, changed := l.cps.latest, len(l.cps.refs) > 0, l.changed
		l.mu.RUnlock()
		if ok && latest.Size >= size {
			return latest, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return SignedCheckpoint{}, fmt.Errorf("wait for checkpoint %d: %w", size, ctx.Err())
		}
	}
}

// Checkpoint publishes a signed checkpoint of the committed tree if it has
// grown since the latest one (or if none was published yet), and returns
// the latest checkpoint. Before publishing, it checks with a consistency
// proof that the tree extends the latest checkpoint; if not, it publishes
// nothing and fails with ErrInconsistent. While the tree is smaller than
// the latest checkpoint (being rebuilt), it publishes nothing.
func (l *Log) Checkpoint(ctx context.Context) (SignedCheckpoint, error) {
	if err := ctx.Err(); err != nil {
		return SignedCheckpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	prev, havePrev := l.Latest()
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
			return prev, nil // catching up after a reset
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
	c := SignedCheckpoint{Checkpoint: cur, Note: signed}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.cps.append(c); err != nil {
		return SignedCheckpoint{}, err
	}
	close(l.changed)
	l.changed = make(chan struct{})
	l.log.Debug("integrity: checkpoint published", "size", cur.Size, "root", cur.Root.String())
	return c, nil
}

// checkAgainst checks that the tree, if at least as large as c, has c's
// root at c's size.
func (l *Log) checkAgainst(c Checkpoint) error {
	return l.tree.view(func(size int64, _ tlog.Hash, r tlog.HashReader) error {
		if size < c.Size {
			return nil
		}
		root, err := tlog.TreeHash(c.Size, r)
		if err != nil {
			return fmt.Errorf("tree root at %d: %w", c.Size, err)
		}
		if root != c.Root {
			return fmt.Errorf("%w: tree root at size %d is %s, checkpoint says %s", ErrInconsistent, c.Size, root, c.Root)
		}
		return nil
	})
}

// Rebuild empties the tree and rebuilds it from the event store, then
// checks it against the latest checkpoint (ErrInconsistent if the log no
// longer reproduces it). Run must not be running.
func (l *Log) Rebuild(ctx context.Context, store eventstore.Store) error {
	if err := l.tree.reset(); err != nil {
		return fmt.Errorf("rebuild tree: %w", err)
	}
	l.log.Info("integrity: rebuilding the tree from the log")
	if err := l.CatchUp(ctx, store); err != nil {
		return fmt.Errorf("rebuild tree: %w", err)
	}
	if latest, ok := l.Latest(); ok {
		if err := l.checkAgainst(latest.Checkpoint); err != nil {
			return fmt.Errorf("rebuild tree: %w", err)
		}
	}
	return nil
}

// CatchUp appends to the tree every event the store holds beyond it, in
// batches of Config.BatchSize, without publishing checkpoints. Run must not
// be running.
func (l *Log) CatchUp(ctx context.Context, store eventstore.Store) error {
	for {
		size, _ := l.Size()
		events, err := store.ReadAll(ctx, uint64(size)+1, l.cfg.BatchSize)
		if err != nil {
			return fmt.Errorf("catch up from position %d: %w", size+1, err)
		}
		if len(events) == 0 {
			return nil
		}
		if _, err := l.Append(ctx, events...); err != nil {
			return err
		}
	}
}
