package integrity

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// InclusionProof proves that a leaf is in the tree of a given size: the
// answer of GET /v1/ledger/proofs/inclusion. Check it with
// tlog.CheckRecord(Hashes, Size, root, Index, LeafHash) or
// github.com/transparency-dev/merkle/proof.VerifyInclusion.
type InclusionProof struct {
	// Index is the leaf index, the event's position − 1.
	Index int64 `json:"index"`
	// Size is the tree size the proof is for (a checkpoint's size).
	Size int64 `json:"size"`
	// LeafHash is SHA-256(0x00 ‖ entry), base64 in JSON.
	LeafHash tlog.Hash `json:"leafHash"`
	// Hashes is the RFC 6962 audit path, base64 in JSON.
	Hashes []tlog.Hash `json:"hashes"`
}

// ConsistencyProof proves that the tree of size From is a prefix of the
// tree of size To: the answer of GET /v1/ledger/proofs/consistency. Check
// it with tlog.CheckTree(Hashes, To, rootTo, From, rootFrom) or
// github.com/transparency-dev/merkle/proof.VerifyConsistency.
type ConsistencyProof struct {
	// From is the smaller tree size.
	From int64 `json:"from"`
	// To is the larger tree size.
	To int64 `json:"to"`
	// Hashes is the RFC 6962 consistency proof, base64 in JSON; empty when
	// From is 0 or equals To.
	Hashes []tlog.Hash `json:"hashes"`
}

// InclusionProof returns the proof that leaf index is in the tree of the
// given size. It fails with ErrBadRequest unless 0 ≤ index < size ≤ the
// tree's size; a size the tree has not reached but a published checkpoint
// covers is waited for (see Config.TreeWait).
func (l *Log) InclusionProof(ctx context.Context, index, size int64) (InclusionProof, error) {
	if err := ctx.Err(); err != nil {
		return InclusionProof{}, fmt.Errorf("inclusion proof: %w", err)
	}
	if index < 0 || size <= index {
		return InclusionProof{}, fmt.Errorf("inclusion proof of leaf %d in tree %d: %w: want 0 ≤ index < size", index, size, ErrBadRequest)
	}
	if err := l.awaitTree(ctx, size); err != nil {
		return InclusionProof{}, fmt.Errorf("inclusion proof of leaf %d in tree %d: %w", index, size, err)
	}
	p := InclusionProof{Index: index, Size: size}
	err := l.tree.view(func(n int64, _ tlog.Hash, r tlog.HashReader) error {
		if size > n {
			return fmt.Errorf("%w: the tree has %d leaves", ErrBadRequest, n)
		}
		leaf, err := r.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
		if err != nil {
			return err
		}
		p.LeafHash = leaf[0]
		p.Hashes, err = tlog.ProveRecord(size, index, r)
		return err
	})
	if err != nil {
		return InclusionProof{}, fmt.Errorf("inclusion proof of leaf %d in tree %d: %w", index, size, err)
	}
	if p.Hashes == nil {
		p.Hashes = []tlog.Hash{}
	}
	return p, nil
}

// ConsistencyProof returns the proof that the tree of size from is a
// prefix of the tree of size to. It fails with ErrBadRequest unless 0 ≤
// from ≤ to ≤ the tree's size; a size the tree has not reached but a
// published checkpoint covers is waited for (see Config.TreeWait).
func (l *Log) ConsistencyProof(ctx context.Context, from, to int64) (ConsistencyProof, error) {
	if err := ctx.Err(); err != nil {
		return ConsistencyProof{}, fmt.Errorf("consistency proof: %w", err)
	}
	if from < 0 || to < from {
		return ConsistencyProof{}, fmt.Errorf("consistency proof from %d to %d: %w: want 0 ≤ from ≤ to", from, to, ErrBadRequest)
	}
	if err := l.awaitTree(ctx, to); err != nil {
		return ConsistencyProof{}, fmt.Errorf("consistency proof from %d to %d: %w", from, to, err)
	}
	p := ConsistencyProof{From: from, To: to, Hashes: []tlog.Hash{}}
	err := l.tree.view(func(n int64, _ tlog.Hash, r tlog.HashReader) error {
		if to > n {
			return fmt.Errorf("%w: the tree has %d leaves", ErrBadRequest, n)
		}
		if from == 0 || from == to {
			return nil
		}
		var err error
		p.Hashes, err = tlog.ProveTree(to, from, r)
		return err
	})
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("consistency proof from %d to %d: %w", from, to, err)
	}
	return p, nil
}
