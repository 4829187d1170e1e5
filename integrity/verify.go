package integrity

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// maxEntryLine bounds an entry line in Verify; real entries are at most
// about eventstore.MaxEventSize.
const maxEntryLine = 4 * eventstore.MaxEventSize

// progressEvery is how many leaves Verify hashes between progress calls.
const progressEvery = 1 << 16

// Result is the outcome of Verify.
type Result struct {
	// Origin is the checkpoints' origin.
	Origin string
	// Size and Root are those of the largest trusted checkpoint.
	Size int64
	Root tlog.Hash
	// Checkpoints is the number of distinct trusted checkpoints given.
	Checkpoints int
	// Verified is the largest checkpoint size whose root the entries
	// reproduce: leaves [0, Verified) are proven authentic. It equals Size
	// when everything matched.
	Verified int64
	// Entries is the number of entry lines read (Verify stops reading at
	// the first mismatch).
	Entries int64
	// Unverified is the number of lines beyond Size, which no checkpoint
	// covers (not an error).
	Unverified int64
	// Mismatch is where the entries stop matching; nil when they match.
	Mismatch *Mismatch
}

// Mismatch tells where entries stop reproducing the trusted checkpoints.
// It is the error Verify returns on a mismatch; it matches ErrMismatch.
type Mismatch struct {
	// Size is the trusted checkpoint size the check failed at.
	Size int64
	// From and To bound the first bad leaf: it is in [From, To). Leaves
	// before From are proven by a checkpoint of size From (or From is 0).
	From, To int64
	// Leaf is the first bad leaf's index when it is known exactly (To ==
	// From+1), else -1.
	Leaf int64
	// Reason says what was found.
	Reason string
}

// Error implements error.
func (m *Mismatch) Error() string {
	if m.Leaf >= 0 {
		return fmt.Sprintf("verify: leaf %d (position %d, line %d) is the first that does not match the checkpoint of size %d: %s",
			m.Leaf, m.Leaf+1, m.Leaf+1, m.Size, m.Reason)
	}
	return fmt.Sprintf("verify: entries do not match the checkpoint of size %d; the first bad leaf is one of leaves %d to %d (lines %d to %d): %s",
		m.Size, m.From, m.To-1, m.From+1, m.To, m.Reason)
}

// Unwrap makes a Mismatch match ErrMismatch.
func (m *Mismatch) Unwrap() error { return ErrMismatch }

// Verify checks offline that entries (line k = the entry of leaf k, as
// Export and GET /v1/ledger/entries write them) reproduce the signed
// checkpoint(s), with nothing but the verifier key ("name+hash+base64").
//
// checkpoint holds one signed checkpoint note or several, one after the
// other (Export's checkpoints file); each must be signed by the key.
// Verify recomputes the tree from the entries and compares its root at
// every checkpoint's size. On a mismatch it returns the Result with its
// Mismatch, which is also the error: the first bad leaf lies after the
// largest checkpoint the entries reproduce, and no later than the first
// checkpoint they do not, or than a line that is missing or that does not
// carry its position (entries carry their position first, so deleted,
// inserted and swapped lines are located exactly). The more checkpoints,
// the closer the location.
//
// Any other failure (unreadable input, bad key, bad or foreign signature,
// two signed checkpoints of one size that disagree) is returned as an
// error too: a caller such as `ledger verify` exits non-zero whenever the
// error is not nil. progress, if not nil, is called with the number of
// leaves hashed so far, now and then and at the end.
func Verify(entries io.Reader, checkpoint []byte, verifierKey string, progress func(n int)) (Result, error) {
	cps, err := trustedCheckpoints(checkpoint, verifierKey)
	if err != nil {
		return Result{}, fmt.Errorf("verify: %w", err)
	}
	last := cps[len(cps)-1]
	res := Result{Origin: last.Origin, Size: last.Size, Root: last.Root, Checkpoints: len(cps)}
	if progress == nil {
		progress = func(int) {}
	}

	var (
		front frontier
		n     int64 // leaves hashed
		next  int   // next checkpoint to check
		pfx   []byte
	)
	r := bufio.NewReaderSize(entries, maxEntryLine)
	mismatch := func(to int64, reason string) (Result, error) {
		m := &Mismatch{Size: cps[min(next, len(cps)-1)].Size, From: res.Verified, To: to, Leaf: -1, Reason: reason}
		if to == m.From+1 {
			m.Leaf = m.From
		}
		res.Mismatch = m
		progress(int(n))
		return res, m
	}
	for {
		// Check every checkpoint of the current size.
		for next < len(cps) && cps[next].Size == n {
			root, err := tlog.TreeHash(n, &front)
			if err != nil {
				return res, fmt.Errorf("verify: tree root at %d: %w", n, err)
			}
			if root != cps[next].Root {
				return mismatch(n, fmt.Sprintf("the first %d entries have root %s, the checkpoint says %s", n, root, cps[next].Root))
			}
			res.Verified = n
			next++
		}
		if next == len(cps) {
			break
		}
		line, err := r.ReadSlice('\n')
		switch {
		case err == nil:
			line = line[:len(line)-1]
		case errors.Is(err, bufio.ErrBufferFull):
			res.Entries++
			return mismatch(n+1, fmt.Sprintf("line %d is longer than %d bytes", n+1, maxEntryLine))
		case err == io.EOF && len(line) > 0: // a last line without newline
		case err == io.EOF:
			return mismatch(n+1, fmt.Sprintf("the entries end after %d lines; the checkpoint has %d leaves", n, cps[next].Size))
		default:
			return res, fmt.Errorf("verify: read entries line %d: %w", n+1, err)
		}
		res.Entries++
		pfx = strconv.AppendInt(append(pfx[:0], `{"position":`...), n+1, 10)
		pfx = append(pfx, ',')
		if !bytes.HasPrefix(line, pfx) {
			return mismatch(n+1, fmt.Sprintf("line %d does not begin with %s (a line was deleted, inserted, moved or altered)", n+1, pfx))
		}
		if _, err := front.appendLeaf(n, LeafHash(line)); err != nil {
			return res, fmt.Errorf("verify: %w", err)
		}
		n++
		if n%progressEvery == 0 {
			progress(int(n))
		}
	}
	progress(int(n))
	// Count the lines no checkpoint covers.
	buf := make([]byte, 1<<16)
	partial := false
	for {
		k, err := r.Read(buf)
		res.Unverified += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if k > 0 {
			partial = buf[k-1] != '\n'
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("verify: read entries: %w", err)
		}
	}
	if partial {
		res.Unverified++
	}
	res.Entries += res.Unverified
	return res, nil
}

// trustedCheckpoints opens every signed note in data with the verifier
// key and returns the checkpoints by increasing size, without duplicates.
func trustedCheckpoints(data []byte, verifierKey string) ([]Checkpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	notes, err := SplitNotes(data)
	if err != nil {
		return nil, err
	}
	if len(notes) == 0 {
		return nil, fmt.Errorf("%w: no signed checkpoint given", ErrBadCheckpoint)
	}
	cps := make([]Checkpoint, 0, len(notes))
	for i, n := range notes {
		c, err := openCheckpoint(n, v)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %d of %d: %w", i+1, len(notes), err)
		}
		cps = append(cps, c.Checkpoint)
	}
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].Size < cps[j].Size })
	out := cps[:1]
	for _, c := range cps[1:] {
		prev := out[len(out)-1]
		switch {
		case c.Size != prev.Size:
			out = append(out, c)
		case c.Root != prev.Root:
			return nil, fmt.Errorf("%w: two signed checkpoints of size %d have different roots (%s, %s): the log forked", ErrBadCheckpoint, c.Size, prev.Root, c.Root)
		}
	}
	return out, nil
}
