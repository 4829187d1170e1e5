package integrity

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// AuditResult is the outcome of SelfAudit, made for /readyz and metrics.
type AuditResult struct {
	// At is when the audit started, Duration how long it took.
	At       time.Time
	Duration time.Duration
	// TreeSize is the size of the tree audited.
	TreeSize int64
	// LogHead is the store's last position; LogHead − TreeSize is how far
	// the tree lags behind the log.
	LogHead int64
	// CheckpointSize is the size of the latest checkpoint.
	CheckpointSize int64
	// CheckpointsChecked is how many checkpoints were recomputed from the
	// log and found matching.
	CheckpointsChecked int
	// Leaves is how many events were rehashed from the log.
	Leaves int64
	// FirstBadLeaf is the first leaf whose event no longer matches the
	// tree, or -1.
	FirstBadLeaf int64
	// Problems lists the integrity failures found (the audit stops at the
	// first disagreement); empty when the tree, the log and the checkpoints
	// agree.
	Problems []string
	// Error is why the audit could not finish (store unreachable, ctx
	// done, tree reset meanwhile); the result is then inconclusive.
	Error error
}

// OK reports whether the audit finished and found nothing wrong.
func (r AuditResult) OK() bool { return r.Error == nil && len(r.Problems) == 0 }

// Err returns nil when OK, else an error that matches ErrAudit when
// problems were found, and wraps Error when the audit could not finish.
func (r AuditResult) Err() error {
	var errs []error
	for _, p := range r.Problems {
		errs = append(errs, fmt.Errorf("%w: %s", ErrAudit, p))
	}
	if r.Error != nil {
		errs = append(errs, fmt.Errorf("integrity: self-audit inconclusive: %w", r.Error))
	}
	return errors.Join(errs...)
}

// LastAudit returns the result of the latest SelfAudit, and false if none
// ran yet.
func (l *Log) LastAudit() (AuditResult, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.lastAudit == nil {
		return AuditResult{}, false
	}
	return *l.lastAudit, true
}

// SelfAudit re-verifies the stored tree against the log: it rehashes every
// event of the log up to the tree's size (or the latest checkpoint's, if
// larger) and compares every stored hash, every published checkpoint's
// root and the latest checkpoint's signature. It reads the whole log, so
// run it now and then, not per request; it does not block Run or proofs.
// The result is also kept for LastAudit.
func (l *Log) SelfAudit(ctx context.Context, store eventstore.Store) AuditResult {
	res := l.selfAudit(ctx, store)
	res.Duration = time.Since(res.At)
	if res.OK() {
		l.log.Info("integrity: self-audit passed", "size", res.TreeSize, "checkpoints", res.CheckpointsChecked, "duration", res.Duration)
	} else {
		l.log.Error("integrity: self-audit failed", "err", res.Err(), "firstBadLeaf", res.FirstBadLeaf)
	}
	l.mu.Lock()
	l.lastAudit = &res
	l.mu.Unlock()
	return res
}

func (l *Log) selfAudit(ctx context.Context, store eventstore.Store) AuditResult {
	res := AuditResult{At: time.Now(), FirstBadLeaf: -1}
	size, root, gen := l.tree.snapshot()
	res.TreeSize = size
	l.mu.RLock()
	latest, haveLatest := l.cps.latest, len(l.cps.refs) > 0
	sizes := make([]int64, 0, len(l.cps.refs))
	for _, r := range l.cps.refs {
		sizes = append(sizes, r.size)
	}
	l.mu.RUnlock()
	if haveLatest {
		res.CheckpointSize = latest.Size
		if _, err := openCheckpoint(latest.Note, l.key.verifier); err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("latest checkpoint: %v", err))
			return res
		}
	}
	head, err := store.Head(ctx)
	if err != nil {
		res.Error = fmt.Errorf("read log head: %w", err)
		return res
	}
	res.LogHead = int64(head)
	end := max(size, res.CheckpointSize)
	if res.LogHead < end {
		res.Problems = append(res.Problems, fmt.Sprintf("the log has %d events but the tree or a checkpoint covers %d: events were lost", head, end))
		return res
	}

	f := l.tree.file()
	if f == nil {
		res.Error = ErrClosed
		return res
	}
	// The stored hashes of the snapshot do not change unless the tree is
	// reset, which the generation check below catches.
	hashes := bufio.NewReaderSize(io.NewSectionReader(f, 0, tlog.StoredHashCount(size)*tlog.HashSize), 1<<16)
	var (
		front  frontier
		stored tlog.Hash
		n      int64
	)
	for n < end {
		events, err := store.ReadAll(ctx, uint64(n)+1, entriesPage)
		if err != nil {
			res.Error = fmt.Errorf("read log at position %d: %w", n+1, err)
			return res
		}
		if len(events) == 0 {
			res.Problems = append(res.Problems, fmt.Sprintf("the log ends at position %d, before %d", n, end))
			return res
		}
		for _, env := range events {
			if n == end {
				break
			}
			if env.Position != uint64(n)+1 {
				res.Problems = append(res.Problems, fmt.Sprintf("the log gave position %d where %d was due", env.Position, n+1))
				return res
			}
			entry, err := Entry(env)
			if err != nil {
				res.Problems = append(res.Problems, fmt.Sprintf("position %d: %v", env.Position, err))
				return res
			}
			hs, err := front.appendLeaf(n, LeafHash(entry))
			if err != nil {
				res.Error = err
				return res
			}
			if n < size {
				for k, h := range hs {
					if _, err := io.ReadFull(hashes, stored[:]); err != nil {
						res.Error = fmt.Errorf("read stored hashes of leaf %d: %w", n, err)
						return res
					}
					if h == stored {
						continue
					}
					if k == 0 {
						res.FirstBadLeaf = n
						res.Problems = append(res.Problems, fmt.Sprintf("the event at position %d does not match leaf %d of the tree: the log or the tree was altered", n+1, n))
					} else {
						res.Problems = append(res.Problems, fmt.Sprintf("stored tree hash %d (written with leaf %d) is corrupt", tlog.StoredHashCount(n)+int64(k), n))
					}
					return res
				}
			}
			n++
			res.Leaves = n
			for len(sizes) > 0 && sizes[0] <= n {
				s := sizes[0]
				sizes = sizes[1:]
				if s < n {
					continue // size 0
				}
				if p := l.auditCheckpoint(ctx, s, &front); p != "" {
					res.Problems = append(res.Problems, p)
					return res
				}
				res.CheckpointsChecked++
			}
		}
	}
	if got, err := tlog.TreeHash(size, &front); err == nil && n >= size && got != root {
		res.Problems = append(res.Problems, fmt.Sprintf("the tree's recorded root at size %d is %s, the log gives %s", size, root, got))
	}
	if _, _, g := l.tree.snapshot(); g != gen {
		res.Error = errors.New("the tree was reset during the audit")
	}
	return res
}

// auditCheckpoint compares the checkpoint of size s with the root the log
// gives at that size.
func (l *Log) auditCheckpoint(ctx context.Context, s int64, front *frontier) string {
	c, err := l.CheckpointAt(ctx, s)
	if err != nil {
		return fmt.Sprintf("read checkpoint %d: %v", s, err)
	}
	got, err := tlog.TreeHash(s, front)
	if err != nil {
		return fmt.Sprintf("root at %d: %v", s, err)
	}
	if got != c.Root {
		return fmt.Sprintf("the first %d events of the log give root %s, but the signed checkpoint of size %d says %s: the log was rewritten", s, got, s, c.Root)
	}
	return ""
}
