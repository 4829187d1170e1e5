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
	// before From are proven intact: by a checkpoint of size From, or, when
	// the leaf is named exactly, by leaf hashes that reproduce the
	// checkpoint of size Size.
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
		return fmt.Sprintf("verify: leaf %d (position %d, line %d) does not match the checkpoint of size %d, and every leaf before it does: %s",
			m.Leaf, m.Leaf+1, m.Leaf+1, m.Size, m.Reason)
	}
	proven := "no leaf is proven intact"
	if m.From > 0 {
		proven = fmt.Sprintf("leaves 0 to %d are proven intact", m.From-1)
	}
	return fmt.Sprintf("verify: entries do not match the checkpoint of size %d: %s; %s, "+
		"and the first bad leaf is one of leaves %d to %d (lines %d to %d): "+
		"naming it needs a signed checkpoint between them or the export's %s file",
		m.Size, m.Reason, proven, m.From, m.To-1, m.From+1, m.To, ExportLeafHashesFile)
}

// Unwrap makes a Mismatch match ErrMismatch.
func (m *Mismatch) Unwrap() error { return ErrMismatch }

// VerifyOptions adjusts VerifyWith.
type VerifyOptions struct {
	// LeafHashes is optional: the export's leaf-hashes file (leaf k's
	// 32-byte hash at offset 32k). It is trusted only if its hashes
	// reproduce the root of the checkpoint the entries fail at; then it
	// names the first bad leaf exactly.
	LeafHashes io.Reader
	// Progress is optional: called with the number of leaves hashed so
	// far, now and then and at the end.
	Progress func(n int)
}

// Verify is VerifyWith without leaf hashes.
func Verify(entries io.Reader, checkpoint []byte, verifierKey string, progress func(n int)) (Result, error) {
	return VerifyWith(entries, checkpoint, verifierKey, VerifyOptions{Progress: progress})
}

// VerifyWith checks offline that entries (line k = the entry of leaf k, as
// Export and GET /v1/ledger/entries write them) reproduce the signed
// checkpoint(s), with nothing but the verifier key ("name+hash+base64").
//
// checkpoint holds one signed checkpoint note or several, one after the
// other (Export's checkpoints file); each must be signed by the key.
// VerifyWith recomputes the tree from the entries and compares its root at
// every checkpoint's size. On a mismatch it returns the Result with its
// Mismatch, which is also the error.
//
// What a mismatch proves: only the signed roots are trusted. Leaves before
// the largest checkpoint the entries reproduce are intact; the first bad
// leaf lies before the first checkpoint they do not reproduce, or is the
// first line that is missing or does not carry its position (entries carry
// their position first, so deleted, inserted and swapped lines are located
// exactly). Within that interval a root says nothing about single leaves,
// so the first bad leaf is named exactly only when the interval is one
// leaf wide, or with opt.LeafHashes: leaf hashes that reproduce the failed
// checkpoint's root are, short of a SHA-256 collision, the leaves it
// signed, and the first entry whose hash differs is the first bad leaf.
//
// Any other failure (unreadable input, bad key, bad or foreign signature,
// two signed checkpoints of one size that disagree) is returned as an
// error too: a caller such as `ledger verify` exits non-zero whenever the
// error is not nil.
func VerifyWith(entries io.Reader, checkpoint []byte, verifierKey string, opt VerifyOptions) (Result, error) {
	cps, err := trustedCheckpoints(checkpoint, verifierKey)
	if err != nil {
		return Result{}, fmt.Errorf("verify: %w", err)
	}
	last := cps[len(cps)-1]
	v := &verifier{
		cps: cps, r: bufio.NewReaderSize(entries, maxEntryLine), progress: opt.Progress,
		res: Result{Origin: last.Origin, Size: last.Size, Root: last.Root, Checkpoints: len(cps)},
	}
	if v.progress == nil {
		v.progress = func(int) {}
	}
	p, err := v.hashEntries()
	v.progress(int(v.n))
	if err != nil {
		return v.res, fmt.Errorf("verify: %w", err)
	}
	if p != nil {
		m := v.locate(*p, opt.LeafHashes)
		v.res.Mismatch = m
		return v.res, m
	}
	if err := v.countUnverified(); err != nil {
		return v.res, fmt.Errorf("verify: %w", err)
	}
	return v.res, nil
}

// verifier is the state of one VerifyWith.
type verifier struct {
	cps      []Checkpoint
	r        *bufio.Reader
	progress func(int)
	res      Result

	front frontier
	n     int64 // leaves hashed
	next  int   // next checkpoint to check
	// pending are the hashes of leaves [res.Verified, n), which no
	// checkpoint proved yet.
	pending []tlog.Hash
	pfx     []byte
}

// problem is what hashEntries found wrong.
type problem struct {
	// leaf is the bad or missing leaf when a line is at fault (the leaves
	// before it may be bad too), or -1 when a root did not match.
	leaf   int64
	reason string
}

// hashEntries hashes the entries up to the largest checkpoint, checking
// every checkpoint on the way. It returns the first problem found.
func (v *verifier) hashEntries() (*problem, error) {
	for {
		for v.next < len(v.cps) && v.cps[v.next].Size == v.n {
			root, err := tlog.TreeHash(v.n, &v.front)
			if err != nil {
				return nil, fmt.Errorf("tree root at %d: %w", v.n, err)
			}
			if cp := v.cps[v.next]; root != cp.Root {
				return &problem{-1, fmt.Sprintf("the first %d entries have root %s, the checkpoint says %s", v.n, root, cp.Root)}, nil
			}
			v.res.Verified, v.pending = v.n, v.pending[:0]
			v.next++
		}
		if v.next == len(v.cps) {
			return nil, nil
		}
		line, p, err := v.readLine()
		if p != nil || err != nil {
			return p, err
		}
		h := LeafHash(line)
		if _, err := v.front.appendLeaf(v.n, h); err != nil {
			return nil, err
		}
		v.pending = append(v.pending, h)
		v.n++
		if v.n%progressEvery == 0 {
			v.progress(int(v.n))
		}
	}
}

// readLine reads the entry of leaf v.n, which must carry its position.
func (v *verifier) readLine() ([]byte, *problem, error) {
	line, err := v.r.ReadSlice('\n')
	lineNo := v.n + 1
	switch {
	case err == nil:
		line = line[:len(line)-1]
	case errors.Is(err, bufio.ErrBufferFull):
		v.res.Entries++
		return nil, &problem{v.n, fmt.Sprintf("line %d is longer than %d bytes", lineNo, maxEntryLine)}, nil
	case err == io.EOF && len(line) > 0: // a last line without newline
	case err == io.EOF:
		return nil, &problem{v.n, fmt.Sprintf("the entries end after %d lines; the checkpoint has %d leaves", v.n, v.cps[v.next].Size)}, nil
	default:
		return nil, nil, fmt.Errorf("read entries line %d: %w", lineNo, err)
	}
	v.res.Entries++
	v.pfx = strconv.AppendInt(append(v.pfx[:0], `{"position":`...), lineNo, 10)
	v.pfx = append(v.pfx, ',')
	if !bytes.HasPrefix(line, v.pfx) {
		return nil, &problem{v.n, fmt.Sprintf("line %d does not begin with %s (a line was deleted, inserted, moved or altered)", lineNo, v.pfx)}, nil
	}
	return line, nil, nil
}

// locate turns a problem into a Mismatch, naming the first bad leaf
// exactly when the interval is one leaf wide or leafHashes reproduce the
// failed checkpoint.
func (v *verifier) locate(p problem, leafHashes io.Reader) *Mismatch {
	cp := v.cps[v.next]
	m := &Mismatch{Size: cp.Size, From: v.res.Verified, To: v.n, Leaf: -1, Reason: p.reason}
	if p.leaf >= 0 {
		m.To = p.leaf + 1
	}
	if m.To == m.From+1 {
		m.Leaf = m.From
		return m
	}
	if leafHashes == nil {
		return m
	}
	bad, want, err := firstDifference(leafHashes, cp, m.From, v.pending)
	switch {
	case err != nil:
		m.Reason += fmt.Sprintf("; the %s file cannot name the leaf: %v", ExportLeafHashesFile, err)
	case bad >= 0:
		m.Leaf, m.From, m.To = bad, bad, bad+1
		m.Reason = fmt.Sprintf("its entry hashes to %s, the leaf the checkpoint signs is %s (the %s file reproduces the checkpoint's root)",
			v.pending[bad-v.res.Verified], want, ExportLeafHashesFile)
	case p.leaf >= 0: // every leaf before the bad line is intact
		m.Leaf, m.From = p.leaf, p.leaf
		m.Reason += fmt.Sprintf(" (the leaves before it match the %s file, which reproduces the checkpoint's root)", ExportLeafHashesFile)
	}
	return m
}

// firstDifference reads cp.Size leaf hashes from r and, if they reproduce
// cp's root, returns the first leaf index in [from, from+len(ours)) whose
// hash differs from ours (-1 if none) with the hash it should have.
func firstDifference(r io.Reader, cp Checkpoint, from int64, ours []tlog.Hash) (int64, tlog.Hash, error) {
	var (
		front frontier
		h     tlog.Hash
		bad   int64 = -1
		want  tlog.Hash
	)
	br := bufio.NewReaderSize(r, 1<<16)
	for k := int64(0); k < cp.Size; k++ {
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return -1, want, fmt.Errorf("it ends before leaf %d of %d: %w", k, cp.Size, err)
		}
		if bad < 0 && k >= from && k-from < int64(len(ours)) && h != ours[k-from] {
			bad, want = k, h
		}
		if _, err := front.appendLeaf(k, h); err != nil {
			return -1, want, err
		}
	}
	root, err := tlog.TreeHash(cp.Size, &front)
	if err != nil {
		return -1, want, err
	}
	if root != cp.Root {
		return -1, want, fmt.Errorf("its first %d hashes have root %s, the checkpoint says %s", cp.Size, root, cp.Root)
	}
	return bad, want, nil
}

// countUnverified counts the lines after the largest checkpoint, which no
// checkpoint covers.
func (v *verifier) countUnverified() error {
	buf := make([]byte, 1<<16)
	partial := false
	for {
		k, err := v.r.Read(buf)
		v.res.Unverified += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if k > 0 {
			partial = buf[k-1] != '\n'
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read entries: %w", err)
		}
	}
	if partial {
		v.res.Unverified++
	}
	v.res.Entries += v.res.Unverified
	return nil
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
