package integrity

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// exportFixture is an export of a log of n events.
type exportFixture struct {
	entries     []byte
	checkpoint  []byte
	checkpoints []byte
	leafHashes  []byte
	vkey        string
	origin      string
}

// newExport exports a log of n events with a checkpoint after every leaf.
func newExport(t *testing.T, n int) exportFixture {
	return newExportEvery(t, n, 1)
}

// newExportEvery exports a log of n events with a checkpoint every
// `every` leaves (and one at n).
func newExportEvery(t *testing.T, n, every int) exportFixture {
	t.Helper()
	rng := newRand(t)
	store := newStore(t, rng, n)
	cfg := testConfig(t)
	l := openLog(t, cfg)
	appendInBatches(t, l, readAll(t, store), every, func(int) int { return every - 1 })
	fill(t, store, rng, 7) // not in any checkpoint: not exported
	dir := filepath.Join(t.TempDir(), "export")
	c, err := l.Export(context.Background(), store, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != int64(n) {
		t.Fatalf("exported checkpoint %d, want %d", c.Size, n)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return exportFixture{
		entries:     read(ExportEntriesFile),
		checkpoint:  read(ExportCheckpointFile),
		checkpoints: read(ExportCheckpointsFile),
		leafHashes:  read(ExportLeafHashesFile),
		vkey:        string(read(ExportVerifierKeyFile)),
		origin:      cfg.Origin,
	}
}

func lines(b []byte) [][]byte {
	return bytes.SplitAfter(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func join(ls [][]byte) []byte {
	out := bytes.Join(ls, nil)
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	return out
}

func TestExportVerifies(t *testing.T) {
	f := newExport(t, 300)
	if got := len(lines(f.entries)); got != 300 {
		t.Fatalf("entries has %d lines, want 300", got)
	}
	for i, line := range lines(f.entries) {
		env, err := ParseEntry(bytes.TrimSuffix(line, []byte("\n")))
		if err != nil || env.Position != uint64(i+1) {
			t.Fatalf("line %d: %v position %d", i+1, err, env.Position)
		}
	}
	var calls []int
	res, err := Verify(bytes.NewReader(f.entries), f.checkpoint, f.vkey, func(n int) { calls = append(calls, n) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != 300 || res.Verified != 300 || res.Entries != 300 || res.Mismatch != nil || res.Origin != f.origin || res.Checkpoints != 1 {
		t.Fatalf("Verify = %+v", res)
	}
	if len(calls) == 0 || calls[len(calls)-1] != 300 {
		t.Fatalf("progress calls %v", calls)
	}
	res, err = Verify(bytes.NewReader(f.entries), f.checkpoints, f.vkey, nil)
	if err != nil || res.Checkpoints != 300 || res.Verified != 300 {
		t.Fatalf("Verify with all checkpoints = %+v, %v", res, err)
	}
	// Lines beyond the checkpoint (a live GET /v1/ledger/entries) are
	// reported, not failed.
	more := append(bytes.Clone(f.entries), `{"position":301}`+"\n"+`{"position":302}`...)
	res, err = Verify(bytes.NewReader(more), f.checkpoint, f.vkey, nil)
	if err != nil || res.Unverified != 2 || res.Entries != 302 {
		t.Fatalf("Verify with extra lines = %+v, %v", res, err)
	}
	// The CLI wrapper's exit status is err != nil: a plain entries file
	// without final newline still verifies.
	if _, err := Verify(bytes.NewReader(bytes.TrimSuffix(f.entries, []byte("\n"))), f.checkpoint, f.vkey, nil); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	f := newExport(t, 300)
	ls := lines(f.entries)
	type tamper struct {
		name    string
		entries []byte
		// exact is the first bad leaf Verify must name with all checkpoints.
		exact int64
		// single is the first bad leaf it must name with only the latest
		// checkpoint, or -1 when it can only give a range.
		single int64
	}
	var cases []tamper
	{ // change one byte of one entry's data
		m := make([][]byte, len(ls))
		copy(m, ls)
		m[150] = bytes.Replace(bytes.Clone(ls[150]), []byte(`"amountCents":`), []byte(`"amountCents":1`), 1)
		cases = append(cases, tamper{"one byte changed", join(m), 150, -1})
	}
	{ // one byte changed in the first entry: exact even with one checkpoint
		m := make([][]byte, len(ls))
		copy(m, ls)
		m[0] = bytes.Replace(bytes.Clone(ls[0]), []byte(`"bank"`), []byte(`"banK"`), 1)
		cases = append(cases, tamper{"first entry changed", join(m), 0, -1})
	}
	{ // delete one
		m := append(append([][]byte{}, ls[:42]...), ls[43:]...)
		cases = append(cases, tamper{"one deleted", join(m), 42, -1})
	}
	{ // delete the first
		cases = append(cases, tamper{"first deleted", join(ls[1:]), 0, 0})
	}
	{ // swap two
		m := make([][]byte, len(ls))
		copy(m, ls)
		m[10], m[200] = m[200], m[10]
		cases = append(cases, tamper{"two swapped", join(m), 10, -1})
	}
	{ // truncated in the middle of a line
		cut := bytes.Index(f.entries, ls[250]) + 20
		cases = append(cases, tamper{"truncated mid-line", f.entries[:cut], 250, -1})
	}
	{ // truncated at a line end: the missing leaf is named
		cut := bytes.Index(f.entries, ls[250])
		cases = append(cases, tamper{"truncated", f.entries[:cut], 250, -1})
	}
	{ // last line dropped
		cases = append(cases, tamper{"last dropped", join(ls[:299]), 299, -1})
	}
	{ // empty file
		cases = append(cases, tamper{"empty", nil, 0, 0})
	}
	{ // a forged line with the right position inserted
		m := append(append([][]byte{}, ls[:77]...), append([][]byte{[]byte(`{"position":78,"forged":true}` + "\n")}, ls[77:]...)...)
		cases = append(cases, tamper{"inserted", join(m), 77, -1})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, cp := range []struct {
				name   string
				notes  []byte
				want   int64
				hashes io.Reader
			}{
				{"latest checkpoint", f.checkpoint, c.single, nil},
				{"all checkpoints", f.checkpoints, c.exact, nil},
				{"latest checkpoint and leaf hashes", f.checkpoint, c.exact, bytes.NewReader(f.leafHashes)},
			} {
				res, err := VerifyWith(bytes.NewReader(c.entries), cp.notes, f.vkey, VerifyOptions{LeafHashes: cp.hashes})
				var m *Mismatch
				if !errors.As(err, &m) || !errors.Is(err, ErrMismatch) || res.Mismatch != m {
					t.Fatalf("%s: Verify = %+v, %v; want a Mismatch", cp.name, res, err)
				}
				if m.Leaf != cp.want {
					t.Fatalf("%s: first bad leaf %d, want %d (%v)", cp.name, m.Leaf, cp.want, err)
				}
				if m.From > c.exact || m.To <= c.exact {
					t.Fatalf("%s: range [%d, %d) does not hold the bad leaf %d", cp.name, m.From, m.To, c.exact)
				}
				if res.Verified > m.From {
					t.Fatalf("%s: verified %d, range from %d", cp.name, res.Verified, m.From)
				}
				t.Logf("%s: %v", cp.name, err)
			}
		})
	}
}

func TestVerifyDetectsForgedCheckpoints(t *testing.T) {
	f := newExport(t, 50)
	t.Run("root replaced", func(t *testing.T) {
		text, _ := noteText(f.checkpoint)
		c, _ := ParseCheckpoint(text)
		c.Root[0] ^= 1
		forged := bytes.Replace(f.checkpoint, text, c.Text(), 1)
		if _, err := Verify(bytes.NewReader(f.entries), forged, f.vkey, nil); !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), "invalid signature") {
			t.Fatalf("Verify = %v, want an invalid signature", err)
		}
	})
	t.Run("size replaced", func(t *testing.T) {
		forged := bytes.Replace(f.checkpoint, []byte("\n50\n"), []byte("\n49\n"), 1)
		if _, err := Verify(bytes.NewReader(f.entries), forged, f.vkey, nil); !errors.Is(err, ErrBadCheckpoint) {
			t.Fatalf("Verify = %v, want ErrBadCheckpoint", err)
		}
	})
	skey, vkey, err := note.GenerateKey(rand.Reader, f.origin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	text, _ := noteText(f.checkpoint)
	t.Run("signed with another key", func(t *testing.T) {
		resigned, err := note.Sign(&note.Note{Text: string(text)}, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(bytes.NewReader(f.entries), resigned, f.vkey, nil); !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), "not signed by") {
			t.Fatalf("Verify = %v, want not signed by the key", err)
		}
		// And an honest checkpoint checked with the wrong key.
		if _, err := Verify(bytes.NewReader(f.entries), f.checkpoint, vkey, nil); !errors.Is(err, ErrBadCheckpoint) {
			t.Fatalf("Verify with another verifier key = %v", err)
		}
	})
	t.Run("malformed key or notes", func(t *testing.T) {
		if _, err := Verify(bytes.NewReader(f.entries), f.checkpoint, "nonsense", nil); err == nil {
			t.Fatal("accepted a malformed verifier key")
		}
		if _, err := Verify(bytes.NewReader(f.entries), nil, f.vkey, nil); !errors.Is(err, ErrBadCheckpoint) {
			t.Fatalf("Verify without checkpoint = %v", err)
		}
		if _, err := Verify(bytes.NewReader(f.entries), f.checkpoint[:len(f.checkpoint)-5], f.vkey, nil); !errors.Is(err, ErrBadCheckpoint) {
			t.Fatalf("Verify with a cut checkpoint = %v", err)
		}
	})
}

func TestVerifyDetectsAFork(t *testing.T) {
	// Two checkpoints of one size with different roots, both validly
	// signed: the log showed two histories.
	cfgA := testConfig(t)
	rng := newRand(t)
	a := openLog(t, cfgA)
	storeA, storeB := newStore(t, rng, 10), newStore(t, rng, 10)
	ctx := context.Background()
	if err := a.CatchUp(ctx, storeA); err != nil {
		t.Fatal(err)
	}
	ca, _ := a.Checkpoint(ctx)
	cfgB := testConfig(t)
	cfgB.KeyDir = cfgA.Dir // the same key
	b := openLog(t, cfgB)
	if err := b.CatchUp(ctx, storeB); err != nil {
		t.Fatal(err)
	}
	cb, _ := b.Checkpoint(ctx)
	var entries bytes.Buffer
	if _, err := WriteEntries(ctx, &entries, storeA, 0, 10); err != nil {
		t.Fatal(err)
	}
	both := append(append(bytes.Clone(ca.Note), '\n'), cb.Note...)
	if _, err := Verify(&entries, both, a.VerifierKey(), nil); !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), "forked") {
		t.Fatalf("Verify = %v, want a fork reported", err)
	}
}

func TestSplitNotes(t *testing.T) {
	f := newExport(t, 3)
	notes, err := SplitNotes(f.checkpoints)
	if err != nil || len(notes) != 3 {
		t.Fatalf("SplitNotes = %d notes, %v", len(notes), err)
	}
	if !bytes.Equal(notes[2], f.checkpoint) {
		t.Fatal("the last note is not the latest checkpoint")
	}
	padded := bytes.Join(notes, []byte("\n\n"))
	if again, err := SplitNotes(padded); err != nil || len(again) != 3 {
		t.Fatalf("SplitNotes with blank lines between = %d, %v", len(again), err)
	}
	for _, bad := range []string{"a\nb\n", "a\n\n", "a\n\nnot a signature\n", string(f.checkpoint) + "x"} {
		if _, err := SplitNotes([]byte(bad)); err == nil {
			t.Errorf("SplitNotes(%q) accepted", bad)
		}
	}
}

func TestWriteEntriesPages(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 2500)
	var all, page bytes.Buffer
	ctx := context.Background()
	if n, err := WriteEntries(ctx, &all, store, 0, 1<<62); err != nil || n != 2500 {
		t.Fatalf("WriteEntries = %d, %v", n, err)
	}
	if n, err := WriteEntries(ctx, &page, store, 1000, 1200); err != nil || n != 1200 {
		t.Fatalf("WriteEntries page = %d, %v", n, err)
	}
	if !bytes.Equal(page.Bytes(), join(lines(all.Bytes())[1000:2200])) {
		t.Fatal("a page differs from the same lines of the whole")
	}
}

// With checkpoints every 100 leaves, one altered entry is narrowed to the
// 100 leaves between two checkpoints; with the export's leaf hashes it is
// named exactly, wherever it sits.
func TestVerifyNamesTheFirstBadLeafExactly(t *testing.T) {
	f := newExportEvery(t, 300, 100)
	if n, _ := SplitNotes(f.checkpoints); len(n) != 3 {
		t.Fatalf("%d checkpoints, want 3", len(n))
	}
	ls := lines(f.entries)
	alter := func(idx ...int) []byte {
		m := make([][]byte, len(ls))
		copy(m, ls)
		for _, i := range idx {
			m[i] = bytes.Replace(bytes.Clone(ls[i]), []byte(`"amountCents":`), []byte(`"amountCents":1`), 1)
			if bytes.Equal(m[i], ls[i]) {
				t.Fatalf("entry %d unchanged", i)
			}
		}
		return join(m)
	}
	verify := func(entries, notes, hashes []byte) (*Mismatch, error) {
		t.Helper()
		var opt VerifyOptions
		if hashes != nil {
			opt.LeafHashes = bytes.NewReader(hashes)
		}
		_, err := VerifyWith(bytes.NewReader(entries), notes, f.vkey, opt)
		var m *Mismatch
		if !errors.As(err, &m) {
			t.Fatalf("VerifyWith = %v, want a Mismatch", err)
		}
		return m, err
	}
	// first, middle, last, the last leaf of a checkpoint, just after one
	for _, idx := range []int{0, 150, 299, 99, 100, 101, 200} {
		t.Run(fmt.Sprint("leaf ", idx), func(t *testing.T) {
			entries := alter(idx)
			for _, notes := range [][]byte{f.checkpoint, f.checkpoints} {
				m, err := verify(entries, notes, f.leafHashes)
				want := fmt.Sprintf("leaf %d (position %d, line %d) does not match the checkpoint of size ", idx, idx+1, idx+1)
				if m.Leaf != int64(idx) || !strings.Contains(err.Error(), want) {
					t.Fatalf("named leaf %d, want %d: %v", m.Leaf, idx, err)
				}
			}
			// Without the leaf hashes, all checkpoints narrow it to the
			// leaves between two of them.
			m, err := verify(entries, f.checkpoints, nil)
			from := int64(idx / 100 * 100)
			if m.From != from || m.To != from+100 || m.Leaf != -1 || !strings.Contains(err.Error(), ExportLeafHashesFile) {
				t.Fatalf("range [%d, %d) leaf %d, want [%d, %d): %v", m.From, m.To, m.Leaf, from, from+100, err)
			}
		})
	}
	t.Run("two altered: the first is named", func(t *testing.T) {
		m, _ := verify(alter(250, 120), f.checkpoint, f.leafHashes)
		if m.Leaf != 120 {
			t.Fatalf("named %d, want 120", m.Leaf)
		}
	})
	t.Run("altered leaf hashes are not trusted", func(t *testing.T) {
		hashes := bytes.Clone(f.leafHashes)
		hashes[32*150] ^= 1
		m, err := verify(alter(150), f.checkpoint, hashes)
		if m.Leaf != -1 || m.From != 0 || m.To != 300 || !strings.Contains(err.Error(), "cannot name the leaf") {
			t.Fatalf("with altered leaf hashes: %+v %v", m, err)
		}
		m, _ = verify(alter(150), f.checkpoint, f.leafHashes[:32*200])
		if m.Leaf != -1 {
			t.Fatalf("with cut leaf hashes: named %d", m.Leaf)
		}
	})
}

func TestExportLeafHashesAreTheEntriesHashes(t *testing.T) {
	f := newExportEvery(t, 30, 10)
	ls := lines(f.entries)
	if len(f.leafHashes) != 32*len(ls) {
		t.Fatalf("%d bytes of leaf hashes for %d entries", len(f.leafHashes), len(ls))
	}
	for i, l := range ls {
		h := LeafHash(bytes.TrimSuffix(l, []byte("\n")))
		if !bytes.Equal(f.leafHashes[32*i:32*i+32], h[:]) {
			t.Fatalf("leaf hash %d differs", i)
		}
	}
}
