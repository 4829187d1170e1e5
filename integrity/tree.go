package integrity

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// Files of the tree, in Config.Dir.
const (
	// hashesName is the append-only file of the tree's stored hashes, 32
	// bytes each, in tlog stored-hash-index order: a tree of n leaves owns
	// its first tlog.StoredHashCount(n) hashes.
	hashesName = "tree-hashes"
	// sizeName is the commit record of the tree: its size and root and a
	// checksum, replaced atomically after the hashes are fsynced. Hashes
	// past the recorded size are uncommitted and discarded on open.
	sizeName   = "tree-size"
	sizeHeader = "attestation-ledger tree v1"
)

// treeState is a committed tree.
type treeState struct {
	size  int64
	root  tlog.Hash
	front frontier
}

// tree is the Merkle tree of the log, its stored hashes on disk. Writers
// are serialized; readers see the committed state, whose stored hashes
// never change while the tree is not reset.
type tree struct {
	dir string
	log *slog.Logger

	wmu sync.Mutex // serializes append and reset

	mu     sync.RWMutex // guards what follows, and the file against reset
	f      *os.File
	st     treeState
	gen    uint64 // incremented by every reset
	broken error  // a failed write: the tree must be reopened
}

// openTree opens the tree in dir, creating it if needed, and brings it back
// to its last consistent commit: uncommitted or torn hashes past the
// recorded size are cut off; lost committed hashes cut the tree back to the
// largest size still complete; an unreadable size record or border hashes
// that do not give the recorded root reset the tree to empty, to be rebuilt
// from the log.
func openTree(dir string, log *slog.Logger) (*tree, error) {
	path := filepath.Join(dir, hashesName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open tree: %w", err)
	}
	t := &tree{dir: dir, log: log, f: f}
	if err := t.recover(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open tree in %s: %w", dir, err)
	}
	return t, nil
}

func (t *tree) recover() error {
	rec, err := readSizeRecord(t.dir)
	noRecord := errors.Is(err, fs.ErrNotExist)
	switch {
	case noRecord:
		// A new tree, or one that crashed before its first commit: empty.
		rec = treeState{}
	case err != nil:
		t.log.Error("integrity: tree size record unreadable; resetting the tree to rebuild it from the log", "err", err)
		return t.resetLocked()
	}
	fi, err := t.f.Stat()
	if err != nil {
		return fmt.Errorf("stat hashes: %w", err)
	}
	have := fi.Size() / tlog.HashSize
	size, checkRoot := rec.size, !noRecord
	if have < tlog.StoredHashCount(size) {
		// Committed hashes were lost (the file was cut): keep the largest
		// tree still complete. Its root cannot be checked against the record;
		// the next checkpoint's consistency check and the self-audit will.
		size = int64(sort.Search(int(size+1), func(n int) bool {
			return tlog.StoredHashCount(int64(n)) > have
		})) - 1
		checkRoot = false
		t.log.Warn("integrity: tree hash file shorter than its commit record; tree cut back",
			"recorded", rec.size, "kept", size)
	}
	if want := tlog.StoredHashCount(size) * tlog.HashSize; fi.Size() != want {
		if fi.Size() > want {
			t.log.Info("integrity: discarding uncommitted tree hashes", "bytes", fi.Size()-want, "size", size)
		}
		if err := t.f.Truncate(want); err != nil {
			return fmt.Errorf("truncate hashes: %w", err)
		}
		if err := t.f.Sync(); err != nil {
			return fmt.Errorf("sync hashes: %w", err)
		}
	}
	root, front, err := loadFrontier(size, tlog.HashReaderFunc(t.readFile))
	if err != nil {
		return fmt.Errorf("read tree border: %w", err)
	}
	if checkRoot && root != rec.root {
		t.log.Error("integrity: tree hashes do not give the recorded root; resetting the tree to rebuild it from the log",
			"size", size)
		return t.resetLocked()
	}
	if size != rec.size {
		if err := writeSizeRecord(t.dir, size, root); err != nil {
			return err
		}
	}
	t.st = treeState{size: size, root: root, front: front}
	return nil
}

// readFile reads stored hashes from the file. The caller makes sure the
// indexes are committed and the tree is not reset meanwhile.
func (t *tree) readFile(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if _, err := t.f.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("read stored hash %d: %w", x, err)
		}
	}
	return out, nil
}

// snapshot returns the committed size and root, and the reset generation.
func (t *tree) snapshot() (size int64, root tlog.Hash, gen uint64) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.st.size, t.st.root, t.gen
}

// file returns the hash file, nil once closed.
func (t *tree) file() *os.File {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.f
}

// view calls fn with the committed size and root and a reader of its stored hashes,
// holding off resets meanwhile. fn must be quick.
func (t *tree) view(fn func(size int64, root tlog.Hash, r tlog.HashReader) error) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.f == nil {
		return ErrClosed
	}
	return fn(t.st.size, t.st.root, tlog.HashReaderFunc(t.readFile))
}

// append adds leaves (their leaf hashes) as leaves first, first+1, …: first
// must be the tree's size. The new hashes are fsynced, then the commit
// record is replaced; only then do readers see the larger tree.
func (t *tree) append(first int64, leaves []tlog.Hash) (size int64, err error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if err := t.heal(); err != nil {
		return 0, err
	}
	t.mu.RLock()
	st, broken, closed := t.st, t.broken, t.f == nil
	front := st.front.clone()
	t.mu.RUnlock()
	switch {
	case closed:
		return 0, ErrClosed
	case broken != nil:
		return 0, fmt.Errorf("tree unusable since a failed write, reopen it: %w", broken)
	case first != st.size:
		return st.size, fmt.Errorf("%w: leaf %d offered, the tree has %d leaves", ErrOutOfOrder, first, st.size)
	case len(leaves) == 0:
		return st.size, nil
	}
	buf := make([]byte, 0, (2*len(leaves)+64)*tlog.HashSize)
	for i, h := range leaves {
		hashes, err := front.appendLeaf(st.size+int64(i), h)
		if err != nil {
			return st.size, err
		}
		for _, x := range hashes {
			buf = append(buf, x[:]...)
		}
	}
	size = st.size + int64(len(leaves))
	root, err := tlog.TreeHash(size, &front)
	if err != nil {
		return st.size, fmt.Errorf("tree root at %d: %w", size, err)
	}
	if err := t.commit(tlog.StoredHashCount(st.size), buf, size, root); err != nil {
		t.mu.Lock()
		t.broken = err
		t.mu.Unlock()
		return st.size, err
	}
	t.mu.Lock()
	t.st = treeState{size: size, root: root, front: front}
	t.mu.Unlock()
	return size, nil
}

// heal brings a tree whose last write failed (a full disk, a passing I/O
// error) back to its last commit from what is on disk, as opening it
// would, so that appends go on once the cause is gone; until then it
// fails again and the tree stays unusable. Called with wmu held.
func (t *tree) heal() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.broken == nil || t.f == nil {
		return nil
	}
	cause := t.broken
	if err := t.recover(); err != nil {
		return fmt.Errorf("tree unusable since a failed write (%w), and not recovered yet: %w", cause, err)
	}
	t.broken = nil
	t.log.Warn("integrity: tree back to its last commit after a failed write", "size", t.st.size, "failed_write", cause)
	return nil
}

func (t *tree) commit(at int64, hashes []byte, size int64, root tlog.Hash) error {
	if _, err := t.f.WriteAt(hashes, at*tlog.HashSize); err != nil {
		return fmt.Errorf("write tree hashes: %w", err)
	}
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("sync tree hashes: %w", err)
	}
	return writeSizeRecord(t.dir, size, root)
}

// reset empties the tree, to rebuild it from the log.
func (t *tree) reset() error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return ErrClosed
	}
	return t.resetLocked()
}

func (t *tree) resetLocked() error {
	if err := writeSizeRecord(t.dir, 0, emptyRoot()); err != nil {
		return err
	}
	if err := t.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate hashes: %w", err)
	}
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("sync hashes: %w", err)
	}
	t.st = treeState{root: emptyRoot()}
	t.gen++
	t.broken = nil
	return nil
}

func (t *tree) close() error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

func emptyRoot() tlog.Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}

// The commit record: a header line, the size, the base64 root and the hex
// SHA-256 of those three lines.
func encodeSizeRecord(size int64, root tlog.Hash) []byte {
	body := fmt.Sprintf("%s\n%d\n%s\n", sizeHeader, size, root)
	sum := sha256.Sum256([]byte(body))
	return []byte(body + hex.EncodeToString(sum[:]) + "\n")
}

func writeSizeRecord(dir string, size int64, root tlog.Hash) error {
	if err := writeBytesAtomic(dir, sizeName, 0o600, encodeSizeRecord(size, root)); err != nil {
		return fmt.Errorf("commit tree size %d: %w", size, err)
	}
	return nil
}

func readSizeRecord(dir string) (treeState, error) {
	data, err := os.ReadFile(filepath.Join(dir, sizeName))
	if err != nil {
		return treeState{}, fmt.Errorf("read tree size record: %w", err)
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) != 5 || lines[0] != sizeHeader || lines[4] != "" {
		return treeState{}, fmt.Errorf("tree size record: malformed")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return treeState{}, fmt.Errorf("tree size record: bad size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return treeState{}, fmt.Errorf("tree size record: bad root: %w", err)
	}
	if !bytes.Equal(encodeSizeRecord(size, root), data) {
		return treeState{}, fmt.Errorf("tree size record: checksum mismatch")
	}
	return treeState{size: size, root: root}, nil
}
