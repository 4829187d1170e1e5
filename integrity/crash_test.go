package integrity

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// crashFixture is a log whose store holds n events, of which the tree
// holds the first committed, with a checkpoint at committed.
type crashFixture struct {
	cfg   Config
	store eventstore.Store
	envs  []eventstore.Envelope
	roots [][]byte
}

func newCrashFixture(t *testing.T, n, committed int) crashFixture {
	t.Helper()
	rng := newRand(t)
	store := newStore(t, rng, n)
	f := crashFixture{cfg: testConfig(t), store: store, envs: readAll(t, store)}
	f.roots = refRoots(t, f.envs)
	ctx := context.Background()
	l, err := Open(ctx, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, f.envs[:committed]...); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return f
}

// reopenAndHeal reopens the log, checks that the tree is a consistent
// prefix of the log, catches up with the store, publishes a checkpoint
// (which is consistency-checked against the one before the crash) and
// checks every checkpoint against transparency-dev's roots and proofs.
func (f crashFixture) reopenAndHeal(t *testing.T) (*Log, int64) {
	t.Helper()
	ctx := context.Background()
	l := openLog(t, f.cfg)
	size, root := l.Size()
	if !bytes.Equal(root[:], f.roots[size]) {
		t.Fatalf("recovered tree of size %d has root %s, want %x", size, root, f.roots[size])
	}
	if got, want := fileSize(t, f.cfg.Dir, hashesName), tlog.StoredHashCount(size)*tlog.HashSize; got != want {
		t.Fatalf("recovered hash file has %d bytes, want %d", got, want)
	}
	if err := l.CatchUp(ctx, f.store); err != nil {
		t.Fatal(err)
	}
	c, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("checkpoint after recovery: %v", err)
	}
	n := int64(len(f.envs))
	if c.Size != n || !bytes.Equal(c.Root[:], f.roots[n]) {
		t.Fatalf("checkpoint after recovery: size %d root %s", c.Size, c.Root)
	}
	sizes := l.CheckpointSizes()
	for _, s := range sizes {
		old, err := l.CheckpointAt(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		p, err := l.ConsistencyProof(ctx, s, n)
		if err != nil {
			t.Fatal(err)
		}
		hashes := make([][]byte, len(p.Hashes))
		for i := range p.Hashes {
			hashes[i] = p.Hashes[i][:]
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(s), uint64(n), hashes, old.Root[:], c.Root[:]); err != nil {
			t.Fatalf("checkpoint %d and %d inconsistent after recovery: %v", s, n, err)
		}
	}
	if res := l.SelfAudit(ctx, f.store); !res.OK() {
		t.Fatalf("self-audit after recovery: %v", res.Err())
	}
	return l, size
}

func TestCrashBeforeCommitRecord(t *testing.T) {
	// The hashes of a batch were written (and maybe fsynced) but the crash
	// came before the commit record was replaced: the hash file is longer
	// than the recorded size.
	f := newCrashFixture(t, 500, 200)
	sizeRec, err := os.ReadFile(filepath.Join(f.cfg.Dir, sizeName))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := Open(ctx, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, f.envs[200:377]...); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if err := os.WriteFile(filepath.Join(f.cfg.Dir, sizeName), sizeRec, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, size := f.reopenAndHeal(t); size != 200 {
		t.Fatalf("recovered size %d, want the committed 200", size)
	}
}

func TestCrashTornHashWrite(t *testing.T) {
	f := newCrashFixture(t, 300, 257)
	path := filepath.Join(f.cfg.Dir, hashesName)
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write(bytes.Repeat([]byte{0xAB}, 3*32+7)); err != nil { // half-written hashes
		t.Fatal(err)
	}
	_ = fh.Close()
	if _, size := f.reopenAndHeal(t); size != 257 {
		t.Fatalf("recovered size %d, want 257", size)
	}
}

func TestCrashLostCommittedHashes(t *testing.T) {
	// The hash file lost its end (e.g. a restore from an older copy):
	// the tree is cut back to the largest complete size, then caught up,
	// and the new checkpoint is still consistent with the old one.
	f := newCrashFixture(t, 400, 333)
	cut := tlog.StoredHashCount(150)*tlog.HashSize + 13
	if err := os.Truncate(filepath.Join(f.cfg.Dir, hashesName), cut); err != nil {
		t.Fatal(err)
	}
	if _, size := f.reopenAndHeal(t); size != 150 {
		t.Fatalf("recovered size %d, want 150", size)
	}
}

func TestCrashCorruptCommitRecord(t *testing.T) {
	f := newCrashFixture(t, 200, 150)
	path := filepath.Join(f.cfg.Dir, sizeName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(sizeHeader)+2] ^= 0x01 // a digit of the size
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A leftover temporary file from an interrupted replacement, too.
	if err := os.WriteFile(path+".tmp", []byte("torn"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, size := f.reopenAndHeal(t); size != 0 {
		t.Fatalf("recovered size %d, want a reset to 0", size)
	}
}

func TestCrashMissingCommitRecord(t *testing.T) {
	f := newCrashFixture(t, 100, 60)
	if err := os.Remove(filepath.Join(f.cfg.Dir, sizeName)); err != nil {
		t.Fatal(err)
	}
	if _, size := f.reopenAndHeal(t); size != 0 {
		t.Fatalf("recovered size %d, want 0", size)
	}
}

func TestCrashCorruptBorderHash(t *testing.T) {
	// A flipped bit in a hash the root depends on directly: open sees the
	// root disagree with the commit record and rebuilds.
	f := newCrashFixture(t, 120, 100)
	flipByte(t, filepath.Join(f.cfg.Dir, hashesName), tlog.StoredHashCount(100)*tlog.HashSize-1)
	if _, size := f.reopenAndHeal(t); size != 0 {
		t.Fatalf("recovered size %d, want a reset to 0", size)
	}
}

func TestCorruptInteriorHashFoundByAuditAndRebuilt(t *testing.T) {
	// A flipped bit in a hash the root does not read: only proofs would
	// be wrong. The self-audit finds it, Rebuild repairs it.
	f := newCrashFixture(t, 100, 100)
	flipByte(t, filepath.Join(f.cfg.Dir, hashesName), tlog.StoredHashIndex(0, 5)*tlog.HashSize+3)
	ctx := context.Background()
	l := openLog(t, f.cfg)
	res := l.SelfAudit(ctx, f.store)
	if res.OK() || res.FirstBadLeaf != 5 {
		t.Fatalf("self-audit = %+v, want leaf 5 found bad", res)
	}
	if last, ok := l.LastAudit(); !ok || last.OK() {
		t.Fatal("LastAudit does not keep the failure")
	}
	if err := l.Rebuild(ctx, f.store); err != nil {
		t.Fatal(err)
	}
	if res := l.SelfAudit(ctx, f.store); !res.OK() || res.Leaves != 100 || res.CheckpointsChecked != 1 {
		t.Fatalf("self-audit after rebuild = %+v", res)
	}
}

func TestCrashTornCheckpoint(t *testing.T) {
	f := newCrashFixture(t, 50, 40)
	path := filepath.Join(f.cfg.Dir, checkpointsName)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, torn := range []string{"test.example/ledger\n45\n", "test.example/ledger\n45\nAAAA\n\n", "test.example/ledger\n45\nAAAA\n\n— test.example/ledger abc"} {
		if err := os.WriteFile(path, append(bytes.Clone(before), torn...), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := Open(context.Background(), f.cfg)
		if err != nil {
			t.Fatalf("open with torn checkpoint %q: %v", torn, err)
		}
		if c, _ := l.Latest(); c.Size != 40 {
			t.Fatalf("latest checkpoint %d, want 40", c.Size)
		}
		_ = l.Close()
		if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
			t.Fatalf("torn checkpoint not cut off")
		}
	}
	f.reopenAndHeal(t)
	data, _ := os.ReadFile(path)
	notes, err := SplitNotes(data)
	if err != nil || len(notes) != 2 {
		t.Fatalf("checkpoints file after healing: %d notes, %v", len(notes), err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b := make([]byte, 1)
	if _, err := fh.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x20
	if _, err := fh.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestOpenResetsATreeThatDisagreesWithTheLatestCheckpoint(t *testing.T) {
	// The tree is past the latest checkpoint (size 50 < 100), and a hash
	// that the checkpoint's root depends on, but the tree's own root does
	// not, is corrupt: open notices and rebuilds.
	rng := newRand(t)
	store := newStore(t, rng, 100)
	envs := readAll(t, store)
	f := crashFixture{cfg: testConfig(t), store: store, envs: envs, roots: refRoots(t, envs)}
	ctx := context.Background()
	l, err := Open(ctx, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, envs[:50]...); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, envs[50:]...); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	flipByte(t, filepath.Join(f.cfg.Dir, hashesName), tlog.StoredHashIndex(5, 0)*tlog.HashSize)
	if _, size := f.reopenAndHeal(t); size != 0 {
		t.Fatalf("recovered size %d, want a reset to 0", size)
	}
}
