package journal

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// VerifyResult is the outcome of Verify.
type VerifyResult struct {
	// Origin, Size and Root are those of the largest trusted checkpoint.
	Origin string
	Size   int64
	Root   tlog.Hash
	// Checkpoints is the number of distinct trusted checkpoints.
	Checkpoints int
	// Expired is how many leaves precede the first entry given: entries
	// gone with the retention, whose leaf hashes still prove the rest.
	Expired int64
	// Entries is how many entries were checked against their leaves.
	Entries int64
	// Oldest is the time of the oldest entry given (zero without any): the
	// expired ones are older, by their positions, in the order recorded.
	Oldest time.Time
}

// ErrVerify: the export does not prove the journal.
var ErrVerify = errs.New(errs.Invalid, "journal verify")

// Verify checks a journal export offline with nothing but the verifier
// key, golang.org/x/mod/sumdb/note and tlog: every checkpoint is signed by
// the key; the leaf hashes reproduce every checkpoint's root (so they are
// the leaves the key signed, expired ones included); the entries are
// consecutive positions ending at the largest checkpoint, each hashing to
// its leaf and parsing as a journal entry. So no entry was removed,
// altered or inserted; entries missing before the first one expired.
func Verify(entries, leafHashes io.Reader, checkpoints []byte, verifierKey string) (VerifyResult, error) {
	var res VerifyResult
	cps, err := trusted(checkpoints, verifierKey)
	if err != nil {
		return res, err
	}
	last := cps[len(cps)-1]
	res.Origin, res.Size, res.Root, res.Checkpoints = last.Origin, last.Size, last.Root, len(cps)
	raw, err := io.ReadAll(leafHashes)
	if err != nil {
		return res, fmt.Errorf("%w: read the leaf hashes: %w", ErrVerify, err)
	}
	if len(raw)%tlog.HashSize != 0 || int64(len(raw)/tlog.HashSize) < last.Size {
		return res, fmt.Errorf("%w: %d bytes of leaf hashes, want %d leaves", ErrVerify, len(raw), last.Size)
	}
	hashes := make([]tlog.Hash, last.Size)
	for i := range hashes {
		copy(hashes[i][:], raw[i*tlog.HashSize:])
	}
	var c compactRange
	next := 0
	for i := int64(0); i <= last.Size; i++ {
		for next < len(cps) && cps[next].Size == i {
			if root := c.root(); root != cps[next].Root {
				return res, fmt.Errorf("%w: the leaf hashes give root %s at size %d, the signed checkpoint says %s", ErrVerify, root, i, cps[next].Root)
			}
			next++
		}
		if i < last.Size {
			c.add(hashes[i])
		}
	}
	if err := checkEntries(entries, hashes, &res); err != nil {
		return res, err
	}
	return res, nil
}

// checkEntries checks the entry lines against the proven leaf hashes.
func checkEntries(entries io.Reader, hashes []tlog.Hash, res *VerifyResult) error {
	r := bufio.NewReaderSize(entries, 1<<16)
	var want uint64
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("%w: read the entries: %w", ErrVerify, err)
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		pos, rest, ok := splitPosition(line)
		if !ok {
			return fmt.Errorf("%w: entry line %d does not begin with its position", ErrVerify, res.Entries+1)
		}
		if want == 0 {
			want = pos
			res.Expired = int64(pos) - 1
		}
		if pos != want || pos == 0 || pos > uint64(len(hashes)) {
			return fmt.Errorf("%w: entry line %d has position %d, want %d (an entry was removed, inserted or moved)", ErrVerify, res.Entries+1, pos, want)
		}
		if tlog.RecordHash(line) != hashes[pos-1] {
			return fmt.Errorf("%w: the entry at position %d does not hash to its signed leaf (it was altered)", ErrVerify, pos)
		}
		e, err := decode(rest)
		if err != nil {
			return fmt.Errorf("%w: the entry at position %d: %w", ErrVerify, pos, err)
		}
		if res.Entries == 0 {
			res.Oldest = e.Time
		}
		res.Entries++
		want++
	}
	if res.Entries == 0 {
		res.Expired = int64(len(hashes))
		return nil
	}
	if want-1 != uint64(len(hashes)) {
		return fmt.Errorf("%w: the entries end at position %d, the checkpoint has %d leaves (entries were removed at the end)", ErrVerify, want-1, len(hashes))
	}
	return nil
}

// splitPosition splits a leaf line into its position and the stored
// entry (the object without the position field).
func splitPosition(line []byte) (uint64, []byte, bool) {
	const pfx = `{"position":`
	if !bytes.HasPrefix(line, []byte(pfx)) {
		return 0, nil, false
	}
	rest := line[len(pfx):]
	k := bytes.IndexByte(rest, ',')
	if k <= 0 {
		return 0, nil, false
	}
	pos, err := strconv.ParseUint(string(rest[:k]), 10, 64)
	if err != nil || strconv.FormatUint(pos, 10) != string(rest[:k]) {
		return 0, nil, false
	}
	return pos, append([]byte{'{'}, rest[k+1:]...), true
}

// trusted opens every note with the key and returns the checkpoints by
// size, without duplicates.
func trusted(data []byte, verifierKey string) ([]integrity.Checkpoint, error) {
	notes, err := integrity.SplitNotes(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrVerify, err)
	}
	if len(notes) == 0 {
		return nil, fmt.Errorf("%w: no signed checkpoint", ErrVerify)
	}
	var out []integrity.Checkpoint
	for i, n := range notes {
		c, err := integrity.OpenCheckpoint(n, strings.TrimSpace(verifierKey))
		if err != nil {
			return nil, fmt.Errorf("%w: checkpoint %d: %w", ErrVerify, i+1, err)
		}
		out = append(out, c.Checkpoint)
	}
	slices.SortStableFunc(out, func(a, b integrity.Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
	dedup := out[:1]
	for _, c := range out[1:] {
		prev := dedup[len(dedup)-1]
		switch {
		case c.Size != prev.Size:
			dedup = append(dedup, c)
		case c.Root != prev.Root:
			return nil, fmt.Errorf("%w: two signed checkpoints of size %d disagree: the journal forked", ErrVerify, c.Size)
		}
	}
	return dedup, nil
}

// compactRange computes RFC 6962 roots of a growing list of leaf hashes:
// the roots of its perfect subtrees, largest first.
type compactRange struct {
	n     int64
	stack []tlog.Hash
}

func (c *compactRange) add(h tlog.Hash) {
	c.stack = append(c.stack, h)
	for k := c.n; k&1 == 1; k >>= 1 {
		l := len(c.stack)
		c.stack = append(c.stack[:l-2], tlog.NodeHash(c.stack[l-2], c.stack[l-1]))
	}
	c.n++
}

func (c *compactRange) root() tlog.Hash {
	if len(c.stack) == 0 {
		h, _ := tlog.TreeHash(0, nil)
		return h
	}
	r := c.stack[len(c.stack)-1]
	for i := len(c.stack) - 2; i >= 0; i-- {
		r = tlog.NodeHash(c.stack[i], r)
	}
	return r
}
