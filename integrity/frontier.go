package integrity

import (
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/tlog"
)

// frontier holds the hashes of the maximal complete subtrees of a tree of
// some size (its right border, at most 64 hashes), keyed by stored hash
// index. They are all that tlog.StoredHashes reads to add the next leaf and
// all that tlog.TreeHash reads to compute the root, so a frontier lets a tree
// grow and give its root without any other stored hash.
type frontier struct {
	idx []int64
	h   []tlog.Hash
}

var _ tlog.HashReader = (*frontier)(nil)

// ReadHashes implements tlog.HashReader for the border hashes.
func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		j := slices.Index(f.idx, x)
		if j < 0 {
			return nil, fmt.Errorf("stored hash %d is not on the tree's border", x)
		}
		out[i] = f.h[j]
	}
	return out, nil
}

// add records the hashes that tlog.StoredHashes returned for leaf n (the
// tree had n leaves): the last of them is the new complete subtree, which
// replaces the len(hashes)-1 subtrees it absorbed.
func (f *frontier) add(n int64, hashes []tlog.Hash) {
	m := len(hashes) - 1
	k := len(f.idx) - m
	f.idx = append(f.idx[:k], tlog.StoredHashIndex(m, n>>uint(m)))
	f.h = append(f.h[:k], hashes[m])
}

// appendLeaf adds the leaf with hash h as leaf n and returns the hashes to
// store for it, from stored hash index tlog.StoredHashCount(n) on.
func (f *frontier) appendLeaf(n int64, h tlog.Hash) ([]tlog.Hash, error) {
	hashes, err := tlog.StoredHashesForRecordHash(n, h, f)
	if err != nil {
		return nil, fmt.Errorf("hash leaf %d: %w", n, err)
	}
	f.add(n, hashes)
	return hashes, nil
}

func (f *frontier) clone() frontier {
	return frontier{idx: slices.Clone(f.idx), h: slices.Clone(f.h)}
}

// recordingReader reads hashes through r and remembers them, so that the
// hashes tlog.TreeHash reads (the border) can be kept as a frontier.
type recordingReader struct {
	r tlog.HashReader
	f frontier
}

func (rr *recordingReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	hs, err := rr.r.ReadHashes(indexes)
	if err != nil {
		return nil, err
	}
	rr.f.idx = append(rr.f.idx, indexes...)
	rr.f.h = append(rr.f.h, hs...)
	return hs, nil
}

// loadFrontier returns the root and frontier of the tree of size n whose
// stored hashes r reads.
func loadFrontier(n int64, r tlog.HashReader) (tlog.Hash, frontier, error) {
	rr := &recordingReader{r: r}
	root, err := tlog.TreeHash(n, rr)
	if err != nil {
		return tlog.Hash{}, frontier{}, err
	}
	return root, rr.f, nil
}
