package securityreport

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/journal"
)

// Integrity is the integrity status of the security journal and of the
// ledger, with every check the report ran.
type Integrity struct {
	Journal LogIntegrity `json:"journal"`
	Ledger  LogIntegrity `json:"ledger"`
}

// LogIntegrity is one verifiable log's status.
type LogIntegrity struct {
	// Available is false when the report had no access to the log.
	Available bool `json:"available"`
	// Origin names the log (its checkpoints' origin).
	Origin string `json:"origin,omitempty"`
	// TreeSize is the local tree's size.
	TreeSize int64 `json:"treeSize"`
	// Latest is the latest signed checkpoint, if any.
	Latest *CheckpointRef `json:"latest,omitempty"`
	// Checks are the proofs and signatures checked, in order.
	Checks []Check `json:"checks"`
	// OK is true when every check passed (and there was at least one).
	OK bool `json:"ok"`
	// Audit is the ledger's last self-audit (nil for the journal, or
	// when none ran).
	Audit *Audit `json:"audit,omitempty"`
	// Journal is the journal's recording state (nil for the ledger).
	Journal *journal.Status `json:"status,omitempty"`
}

// CheckpointRef names a signed checkpoint.
type CheckpointRef struct {
	Size int64  `json:"size"`
	Root string `json:"root"`
}

// Check is one proof or signature checked while building the report.
type Check struct {
	// Name is what was checked, e.g. "consistency 12 → 40".
	Name string `json:"name"`
	// Detail says how.
	Detail string `json:"detail"`
	// OK is the result; Error why it failed.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Audit is the ledger's last self-audit.
type Audit struct {
	At                 time.Time `json:"at"`
	OK                 bool      `json:"ok"`
	TreeSize           int64     `json:"treeSize"`
	CheckpointsChecked int       `json:"checkpointsChecked"`
	Leaves             int64     `json:"leaves"`
	Problems           []string  `json:"problems"`
	Error              string    `json:"error,omitempty"`
}

// treeWait bounds the wait for the journal's tree to take in the
// period's last entries.
const treeWait = 3 * time.Second

func checkIntegrity(ctx context.Context, src Sources, a *analysis) Integrity {
	return Integrity{Journal: checkJournal(ctx, src.Journal, a), Ledger: checkLedger(ctx, src.Ledger, a)}
}

// checker accumulates checks.
type checker struct{ checks []Check }

func (c *checker) add(name, detail string, err error) bool {
	ch := Check{Name: name, Detail: detail, OK: err == nil}
	if err != nil {
		ch.Error = err.Error()
	}
	c.checks = append(c.checks, ch)
	return err == nil
}

func (c *checker) ok() bool {
	return len(c.checks) > 0 && !slices.ContainsFunc(c.checks, func(ch Check) bool { return !ch.OK })
}

// signedLatest checks the latest checkpoint's signature with the log's
// verifier key.
func signedLatest(c *checker, l *integrity.Log, li *LogIntegrity) (integrity.SignedCheckpoint, bool) {
	li.Origin = l.Origin()
	li.TreeSize, _ = l.Size()
	latest, ok := l.Latest()
	if !ok {
		c.add("latest checkpoint", "a signed checkpoint to check", fmt.Errorf("none published yet"))
		return latest, false
	}
	li.Latest = &CheckpointRef{Size: latest.Size, Root: latest.Root.String()}
	_, err := integrity.OpenCheckpoint(latest.Note, l.VerifierKey())
	return latest, c.add(fmt.Sprintf("signature of checkpoint %d", latest.Size), "the signed note opened with the verifier key "+l.VerifierKey(), err)
}

// consistent checks a consistency proof between two signed trees.
func consistent(ctx context.Context, c *checker, l *integrity.Log, from, to int64, rootFrom, rootTo tlog.Hash, why string) {
	name := fmt.Sprintf("consistency %d → %d", from, to)
	p, err := l.ConsistencyProof(ctx, from, to)
	if err == nil {
		err = tlog.CheckTree(p.Hashes, to, rootTo, from, rootFrom)
	}
	c.add(name, why+": tlog.CheckTree of the log's proof against both signed roots", err)
}

// covering returns the smallest signed checkpoint of the log whose size
// is at least size.
func covering(ctx context.Context, l *integrity.Log, size int64) (integrity.SignedCheckpoint, bool) {
	sizes := l.CheckpointSizes()
	i, _ := slices.BinarySearch(sizes, size)
	if i == len(sizes) {
		return integrity.SignedCheckpoint{}, false
	}
	cp, err := l.CheckpointAt(ctx, sizes[i])
	return cp, err == nil
}

func checkJournal(ctx context.Context, j *journal.Journal, a *analysis) (li LogIntegrity) {
	li = LogIntegrity{Available: true}
	st := j.Status()
	li.Journal = &st
	tree := j.Tree()
	if a.lastPos > 0 {
		// The period's last entries may still be on their way into the
		// tree (it follows the stream): give it a moment.
		wctx, cancel := context.WithTimeout(ctx, treeWait)
		_ = j.WaitTree(wctx, int64(a.lastPos))
		// And for a signed checkpoint to cover them (one a second): the
		// report's own request is journaled too.
		_, _ = tree.WaitCheckpoint(wctx, int64(a.lastPos))
		cancel()
	}
	var c checker
	defer func() { li.Checks, li.OK = c.checks, c.ok() }()
	latest, ok := signedLatest(&c, tree, &li)
	if !ok || len(a.leaves) == 0 {
		return li
	}
	first, last := int64(a.firstPos), int64(a.lastPos)
	if size, _ := tree.Size(); size < last {
		// Not a tampering: the tree follows the stream and is behind.
		c.add("tree covers the period", fmt.Sprintf("tree size %d vs last entry %d", size, last),
			fmt.Errorf("the journal's tree (%d leaves) has not taken in the period's last entry (%d) yet: build the report again", size, last))
		return li
	}
	// Every entry counted is the leaf the tree holds at its position.
	hashes, err := tree.LeafHashes(first-1, last)
	if err == nil {
		for _, p := range a.leaves {
			if hashes[int64(p.pos)-first] != p.hash {
				err = fmt.Errorf("the entry at position %d does not hash to its leaf", p.pos)
				break
			}
		}
	}
	c.add(fmt.Sprintf("leaves %d–%d", first, last), fmt.Sprintf("each of the %d entries counted hashes to its leaf of the journal's tree", len(a.leaves)), err)
	var gapErr error
	if a.gaps > 0 {
		gapErr = fmt.Errorf("%d positions between %d and %d hold no entry of the period", a.gaps, first, last)
	}
	c.add("no gap", "the period's entries are consecutive positions (an entry recorded late, outside the period, also shows here)", gapErr)
	if latest.Size < last {
		c.add("latest checkpoint covers the period", fmt.Sprintf("checkpoint %d vs last entry %d", latest.Size, last),
			fmt.Errorf("the latest checkpoint (%d) does not cover the period's last entry (%d) yet", latest.Size, last))
		return li
	}
	for _, p := range []positioned{a.leaves[0], a.leaves[len(a.leaves)-1]} {
		proof, err := tree.InclusionProof(ctx, int64(p.pos)-1, latest.Size)
		if err == nil {
			err = tlog.CheckRecord(proof.Hashes, latest.Size, latest.Root, int64(p.pos)-1, p.hash)
		}
		c.add(fmt.Sprintf("inclusion of entry %d in checkpoint %d", p.pos, latest.Size),
			"tlog.CheckRecord of the entry's leaf hash against the signed root", err)
		if len(a.leaves) == 1 {
			break
		}
	}
	cFirst, ok1 := covering(ctx, tree, first)
	cLast, ok2 := covering(ctx, tree, last)
	if ok1 && ok2 {
		consistent(ctx, &c, tree, cFirst.Size, cLast.Size, cFirst.Root, cLast.Root, "the checkpoint covering the period's first entry is a prefix of the one covering its last")
		consistent(ctx, &c, tree, cLast.Size, latest.Size, cLast.Root, latest.Root, "the checkpoint covering the period's last entry is a prefix of the latest")
	}
	return li
}

func checkLedger(ctx context.Context, l *integrity.Log, a *analysis) (li LogIntegrity) {
	if l == nil {
		return LogIntegrity{Checks: []Check{}}
	}
	li = LogIntegrity{Available: true}
	var c checker
	defer func() { li.Checks, li.OK = c.checks, c.ok() }()
	if r, ok := l.LastAudit(); ok {
		au := &Audit{At: r.At.UTC(), OK: r.OK(), TreeSize: r.TreeSize, CheckpointsChecked: r.CheckpointsChecked, Leaves: r.Leaves, Problems: nonNil(r.Problems)}
		if r.Error != nil {
			au.Error = r.Error.Error()
		}
		li.Audit = au
		c.add("last self-audit", fmt.Sprintf("at %s: %d leaves rehashed from the store, %d checkpoints recomputed", au.At.Format(time.RFC3339), au.Leaves, au.CheckpointsChecked), r.Err())
	}
	latest, ok := signedLatest(&c, l, &li)
	if !ok {
		return li
	}
	// The ledger checkpoints the journal recorded in the period are
	// prefixes of the latest: nothing the ledger showed then was rewritten.
	var seen []int64
	var ends []ledgerCheckpoint // the first and the last
	if n := len(a.ledgerCheckpoints); n > 0 {
		ends = []ledgerCheckpoint{a.ledgerCheckpoints[0], a.ledgerCheckpoints[n-1]}
	}
	for _, lc := range ends {
		if slices.Contains(seen, lc.size) || lc.size > latest.Size {
			continue
		}
		seen = append(seen, lc.size)
		consistent(ctx, &c, l, lc.size, latest.Size, lc.root, latest.Root,
			fmt.Sprintf("the ledger checkpoint journaled at position %d is a prefix of the latest", lc.pos))
	}
	return li
}
