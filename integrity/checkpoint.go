package integrity

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a C2SP tlog-checkpoint: the tree's origin, size and root.
type Checkpoint struct {
	// Origin names the log; it is also the name of the signing key.
	Origin string
	// Size is the number of leaves.
	Size int64
	// Root is the RFC 6962 root hash of the first Size leaves.
	Root tlog.Hash
}

// Text returns the checkpoint body: the origin line, the size in decimal
// and the base64 root hash, each ending in a newline.
//
// WARNING: the checkpoint format is a public contract (C2SP
// tlog-checkpoint); never change it.
func (c Checkpoint) Text() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, c.Root)
}

// ParseCheckpoint parses a checkpoint body (not a signed note; see
// OpenCheckpoint). Extension lines after the root are allowed and ignored,
// as C2SP specifies.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	s := string(text)
	if !strings.HasSuffix(s, "\n") {
		return Checkpoint{}, fmt.Errorf("%w: body does not end in a newline", ErrBadCheckpoint)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) < 3 {
		return Checkpoint{}, fmt.Errorf("%w: %d lines, want origin, size and root", ErrBadCheckpoint, len(lines))
	}
	for _, ext := range lines[3:] {
		if ext == "" {
			return Checkpoint{}, fmt.Errorf("%w: empty extension line", ErrBadCheckpoint)
		}
	}
	if lines[0] == "" {
		return Checkpoint{}, fmt.Errorf("%w: empty origin", ErrBadCheckpoint)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: bad tree size %q", ErrBadCheckpoint, lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: bad root hash %q", ErrBadCheckpoint, lines[2])
	}
	return Checkpoint{Origin: lines[0], Size: size, Root: root}, nil
}

// SignedCheckpoint is a checkpoint and its signed note.
type SignedCheckpoint struct {
	Checkpoint
	// Note is the signed note as served by GET /v1/ledger/checkpoint: the
	// checkpoint body, a blank line and the signature line(s).
	Note []byte
}

// OpenCheckpoint checks that a signed note carries a valid signature by
// the verifier key (text "name+hash+base64") and parses its checkpoint. The
// origin must be the key's name.
func OpenCheckpoint(signed []byte, verifierKey string) (SignedCheckpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("verifier key: %w", err)
	}
	return openCheckpoint(signed, v)
}

func openCheckpoint(signed []byte, v note.Verifier) (SignedCheckpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			return SignedCheckpoint{}, fmt.Errorf("%w: not signed by %s+%08x", ErrBadCheckpoint, v.Name(), v.KeyHash())
		case errors.As(err, &invalid):
			return SignedCheckpoint{}, fmt.Errorf("%w: invalid signature by %s+%08x (the checkpoint was altered)", ErrBadCheckpoint, v.Name(), v.KeyHash())
		}
		return SignedCheckpoint{}, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return SignedCheckpoint{}, err
	}
	if c.Origin != v.Name() {
		return SignedCheckpoint{}, fmt.Errorf("%w: origin %q is not the key's name %q", ErrBadCheckpoint, c.Origin, v.Name())
	}
	return SignedCheckpoint{Checkpoint: c, Note: bytes.Clone(signed)}, nil
}

// SplitNotes splits a concatenation of signed notes (as in the checkpoints
// file that Export writes) into the notes. Blank lines between notes are
// allowed. A note that is cut short (no signature line, or no final
// newline) is an error.
func SplitNotes(data []byte) ([][]byte, error) {
	sc := newNoteScanner(bytes.NewReader(data))
	var out [][]byte
	for {
		n, off, err := sc.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: signed note at byte %d: %v", ErrBadCheckpoint, off, err)
		}
		out = append(out, n)
	}
}

var (
	sigPrefix = []byte("— ")
	// errTornNote: the data ends inside a note.
	errTornNote = errors.New("incomplete signed note")
)

// noteScanner reads signed notes one after the other from a stream: each
// is text lines, a blank line and one or more signature lines ("— name
// sig").
type noteScanner struct {
	r    *bufio.Reader
	off  int64  // offset of the next line
	peek []byte // a line read but not consumed
}

func newNoteScanner(r io.Reader) *noteScanner {
	return &noteScanner{r: bufio.NewReaderSize(r, 1<<16)}
}

func (s *noteScanner) line() ([]byte, error) {
	if s.peek != nil {
		l := s.peek
		s.peek = nil
		return l, nil
	}
	l, err := s.r.ReadBytes('\n')
	if err == io.EOF && len(l) > 0 {
		return nil, errTornNote
	}
	return l, err
}

// next returns the next note and its offset. It returns io.EOF at the end
// of the data, and errTornNote (with the offset where the incomplete note
// begins) when the data ends inside a note.
func (s *noteScanner) next() (note []byte, start int64, err error) {
	var buf []byte
	inSigs, sigs := false, 0
	for {
		if len(buf) == 0 {
			start = s.off
		}
		l, err := s.line()
		if err == io.EOF {
			if inSigs && sigs > 0 {
				return buf, start, nil
			}
			if len(buf) == 0 {
				return nil, start, io.EOF
			}
			return nil, start, errTornNote
		}
		if err != nil {
			return nil, start, err
		}
		line := l[:len(l)-1]
		switch {
		case inSigs && bytes.HasPrefix(line, sigPrefix):
			sigs++
		case inSigs && sigs > 0:
			s.peek = l // the next note (or padding) begins here
			return buf, start, nil
		case inSigs:
			return nil, start, errors.New("blank line not followed by a signature")
		case len(buf) == 0 && len(line) == 0:
			s.off += int64(len(l)) // padding between notes
			continue
		case len(line) == 0:
			inSigs = true
		}
		buf = append(buf, l...)
		s.off += int64(len(l))
	}
}

// noteText returns the text of a signed note, up to its blank line.
func noteText(signed []byte) ([]byte, error) {
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 {
		return nil, fmt.Errorf("%w: no signature block", ErrBadCheckpoint)
	}
	return signed[:i+1], nil
}
