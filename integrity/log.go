package integrity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Log is the verifiable log: the Merkle tree of the event log, kept on
// disk, and the signed checkpoints of its growth, kept in a
// CheckpointStore (a local file, or a list shared by the instances of a
// deployment, which the Log follows). It is safe for concurrent use; Run
// keeps it following the event store.
type Log struct {
	cfg   Config
	log   *slog.Logger
	key   *key
	tree  *tree
	store CheckpointStore
	file  *checkpointFile // the local store, nil when shared

	pubMu     sync.Mutex // serializes publishing, reading the store and the lease
	leaseHeld bool       // guarded by pubMu
	leaseAt   time.Time  // the last renewal; guarded by pubMu

	checkMu sync.Mutex // serializes checkCovered

	mu        sync.RWMutex // guards what follows
	list      cpList
	changed   chan struct{} // closed and replaced at every new checkpoint
	grown     chan struct{} // closed and replaced whenever the tree grows
	alarm     error         // the first checkpoint the tree contradicted
	lastAudit *AuditResult  // the latest SelfAudit
}

// Open opens the verifiable log in cfg.Dir, creating it (and the signing
// key in cfg.KeyDir) at first start, reads the published checkpoints and
// recovers the tree to its last consistent commit. If the tree does not
// reproduce the latest checkpoint, it is reset to be rebuilt from the log
// by Run or Rebuild.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l, err := openParts(cfg)
	if err != nil {
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	if err := l.loadList(ctx); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	if err := l.seedShared(ctx); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	if err := l.recoverTree(); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("open integrity log: %w", err)
	}
	size, root, _ := l.tree.snapshot()
	l.log.Info("integrity: log open", "dir", cfg.Dir, "origin", cfg.Origin, "size", size, "root", root.String(),
		"verifierKey", l.key.vkey, "checkpoints", len(l.list.notes), "shared", l.file == nil)
	return l, nil
}

// openParts opens the key, the tree and the checkpoint store.
func openParts(cfg Config) (*Log, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.KeyDir, 0o700); err != nil {
		return nil, err
	}
	k, err := loadOrCreateKey(cfg.KeyDir, cfg.KeyName)
	if err != nil {
		return nil, err
	}
	if cfg.KeyName != cfg.Origin {
		if k, err = k.renamed(cfg.Origin); err != nil {
			return nil, err
		}
	}
	t, err := openTree(cfg.Dir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	l := &Log{cfg: cfg, log: cfg.Logger, key: k, tree: t, store: cfg.Checkpoints,
		changed: make(chan struct{}), grown: make(chan struct{})}
	if l.store == nil {
		if l.file, err = openCheckpointFile(cfg.Dir, cfg.Logger); err != nil {
			_ = t.close()
			return nil, err
		}
		l.store = l.file
	}
	return l, nil
}

// recoverTree resets the tree if it does not reproduce the latest
// checkpoint (it is rebuilt from the log), and counts the checkpoints it
// covers as checked when it does.
func (l *Log) recoverTree() error {
	latest, ok := l.Latest()
	if !ok {
		return nil
	}
	err := l.checkAgainst(latest.Checkpoint)
	if errors.Is(err, ErrInconsistent) {
		l.log.Error("integrity: the stored tree does not reproduce the latest checkpoint; resetting it to rebuild from the log", "err", err)
		return l.tree.reset()
	}
	if err != nil {
		return err
	}
	if size, _ := l.Size(); size >= latest.Size {
		l.mu.Lock()
		l.list.checked = len(l.list.notes)
		l.mu.Unlock()
	}
	return nil
}

// Close releases the files (not a shared checkpoint store, nor the
// lease: another instance takes it once its ttl passes). Run must have
// returned.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.tree.close()
	if l.file != nil {
		err = errors.Join(err, l.file.close())
	}
	return err
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
	if events[0].Position == 0 {
		return 0, fmt.Errorf("append leaves: %w: position 0", ErrOutOfOrder)
	}
	return l.AppendHashes(ctx, int64(events[0].Position)-1, hashes...)
}

// AppendHashes adds leaves given by their leaf hashes (LeafHash of their
// entries) as leaves first, first+1, …, durably: first must be Size(), or
// it fails with ErrOutOfOrder and appends nothing. It returns the new
// size. It is how a log whose leaves are not ledger events (the security
// journal) uses the tree; Append is it for events.
func (l *Log) AppendHashes(ctx context.Context, first int64, hashes ...tlog.Hash) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("append leaves: %w", err)
	}
	if len(hashes) == 0 {
		size, _ := l.Size()
		return size, nil
	}
	size, err := l.tree.append(first, hashes)
	if err != nil {
		return size, fmt.Errorf("append leaves at position %d: %w", first+1, err)
	}
	l.mu.Lock()
	close(l.grown)
	l.grown = make(chan struct{})
	l.mu.Unlock()
	return size, nil
}

// LeafHashes returns the leaf hashes of leaves [from, to) of the committed
// tree (ErrBadRequest unless 0 ≤ from ≤ to ≤ Size()). They outlive the
// entries: a log whose old entries expire keeps proving the rest with them.
func (l *Log) LeafHashes(from, to int64) ([]tlog.Hash, error) {
	var out []tlog.Hash
	err := l.tree.view(func(size int64, _ tlog.Hash, r tlog.HashReader) error {
		if from < 0 || to < from || to > size {
			return fmt.Errorf("%w: leaves %d to %d of a tree of %d", ErrBadRequest, from, to, size)
		}
		idx := make([]int64, 0, to-from)
		for i := from; i < to; i++ {
			idx = append(idx, tlog.StoredHashIndex(0, i))
		}
		var err error
		out, err = r.ReadHashes(idx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read leaf hashes: %w", err)
	}
	return out, nil
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
// longer reproduces it). It clears an integrity alarm: the checkpoints the
// old tree contradicted are read and checked again. Run must not be
// running.
func (l *Log) Rebuild(ctx context.Context, store eventstore.Store) error {
	if err := l.tree.reset(); err != nil {
		return fmt.Errorf("rebuild tree: %w", err)
	}
	l.mu.Lock()
	l.list.checked, l.alarm = 0, nil
	l.mu.Unlock()
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
