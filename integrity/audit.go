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
	a := l.newAudit(ctx, store)
	if a.checkLatest() && a.checkHead() && a.openHashes() && a.rehash() {
		a.checkRoot()
	}
	return *a.res
}

// audit is one run of the self-audit: each step records what it found in
// res and reports whether the audit goes on.
type audit struct {
	l     *Log
	ctx   context.Context
	store eventstore.Store
	res   *AuditResult
	// The tree audited (a snapshot), its generation and the checkpoints.
	size int64
	root tlog.Hash
	gen  uint64
	cps  []SignedCheckpoint
	// end is how many leaves are rehashed: the tree's or the latest
	// checkpoint's size, the larger.
	end int64
	// hashes reads the tree's stored hashes in order; front is the
	// border of the tree rehashed so far, of n leaves.
	hashes *bufio.Reader
	front  frontier
	n      int64
}

func (l *Log) newAudit(ctx context.Context, store eventstore.Store) *audit {
	a := &audit{l: l, ctx: ctx, store: store, res: &AuditResult{At: time.Now(), FirstBadLeaf: -1}, cps: l.checkpoints()}
	a.size, a.root, a.gen = l.tree.snapshot()
	a.res.TreeSize = a.size
	return a
}

func (a *audit) problem(format string, args ...any) bool {
	a.res.Problems = append(a.res.Problems, fmt.Sprintf(format, args...))
	return false
}

func (a *audit) fail(err error) bool {
	a.res.Error = err
	return false
}

// checkLatest checks the latest checkpoint's signature.
func (a *audit) checkLatest() bool {
	if len(a.cps) == 0 {
		return true
	}
	latest := a.cps[len(a.cps)-1]
	a.res.CheckpointSize = latest.Size
	if _, err := openCheckpoint(latest.Note, a.l.key.verifier); err != nil {
		return a.problem("latest checkpoint: %v", err)
	}
	return true
}

// checkHead checks that the log holds every event the tree or a
// checkpoint covers.
func (a *audit) checkHead() bool {
	head, err := a.store.Head(a.ctx)
	if err != nil {
		return a.fail(fmt.Errorf("read log head: %w", err))
	}
	a.res.LogHead = int64(head)
	a.end = max(a.size, a.res.CheckpointSize)
	if a.res.LogHead < a.end {
		return a.problem("the log has %d events but the tree or a checkpoint covers %d: events were lost", head, a.end)
	}
	return true
}

// openHashes opens the tree's stored hashes of the snapshot; they do not
// change unless the tree is reset, which checkRoot catches.
func (a *audit) openHashes() bool {
	f := a.l.tree.file()
	if f == nil {
		return a.fail(ErrClosed)
	}
	a.hashes = bufio.NewReaderSize(io.NewSectionReader(f, 0, tlog.StoredHashCount(a.size)*tlog.HashSize), 1<<16)
	return true
}

// rehash reads the log up to end, page after page, and checks each event.
func (a *audit) rehash() bool {
	for a.n < a.end {
		events, err := a.store.ReadAll(a.ctx, uint64(a.n)+1, entriesPage)
		if err != nil {
			return a.fail(fmt.Errorf("read log at position %d: %w", a.n+1, err))
		}
		if len(events) == 0 {
			return a.problem("the log ends at position %d, before %d", a.n, a.end)
		}
		for _, env := range events[:min(int64(len(events)), a.end-a.n)] {
			if !a.leaf(env) || !a.checkpointsAt() {
				return false
			}
		}
	}
	return true
}

// leaf rehashes the event of leaf n and compares it and the hashes it
// adds with the tree's.
func (a *audit) leaf(env eventstore.Envelope) bool {
	n := a.n
	if env.Position != uint64(n)+1 {
		return a.problem("the log gave position %d where %d was due", env.Position, n+1)
	}
	entry, err := Entry(env)
	if err != nil {
		return a.problem("position %d: %v", env.Position, err)
	}
	hs, err := a.front.appendLeaf(n, LeafHash(entry))
	if err != nil {
		return a.fail(err)
	}
	if n < a.size && !a.compareStored(n, hs) {
		return false
	}
	a.n++
	a.res.Leaves = a.n
	return true
}

// compareStored compares the hashes leaf n adds with the stored ones.
func (a *audit) compareStored(n int64, hs []tlog.Hash) bool {
	var stored tlog.Hash
	for k, h := range hs {
		if _, err := io.ReadFull(a.hashes, stored[:]); err != nil {
			return a.fail(fmt.Errorf("read stored hashes of leaf %d: %w", n, err))
		}
		if h == stored {
			continue
		}
		if k == 0 {
			a.res.FirstBadLeaf = n
			return a.problem("the event at position %d does not match leaf %d of the tree: the log or the tree was altered", n+1, n)
		}
		return a.problem("stored tree hash %d (written with leaf %d) is corrupt", tlog.StoredHashCount(n)+int64(k), n)
	}
	return true
}

// checkpointsAt compares every checkpoint of size n with the root the log
// gives at that size.
func (a *audit) checkpointsAt() bool {
	for len(a.cps) > 0 && a.cps[0].Size <= a.n {
		c := a.cps[0]
		a.cps = a.cps[1:]
		if c.Size < a.n {
			continue // size 0
		}
		got, err := tlog.TreeHash(c.Size, &a.front)
		if err != nil {
			return a.problem("root at %d: %v", c.Size, err)
		}
		if got != c.Root {
			return a.problem("the first %d events of the log give root %s, but the signed checkpoint of size %d says %s: the log was rewritten", c.Size, got, c.Size, c.Root)
		}
		a.res.CheckpointsChecked++
	}
	return true
}

// checkRoot compares the tree's recorded root with the log's, and checks
// that the tree was not reset meanwhile.
func (a *audit) checkRoot() {
	if got, err := tlog.TreeHash(a.size, &a.front); err == nil && a.n >= a.size && got != a.root {
		a.problem("the tree's recorded root at size %d is %s, the log gives %s", a.size, a.root, got)
	}
	if _, _, g := a.l.tree.snapshot(); g != a.gen {
		a.fail(errors.New("the tree was reset during the audit"))
	}
}
