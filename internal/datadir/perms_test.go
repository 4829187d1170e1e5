package datadir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrepareMakesTheDataDirPrivate(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	l := New(root)
	// A fresh data dir: 0700, not reported as narrowed.
	if tightened, err := l.Prepare(); err != nil || tightened {
		t.Fatalf("fresh: %v %v", tightened, err)
	}
	for _, d := range []string{l.Root, l.Store, l.ReadModels, l.Ledger} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v", d, fi.Mode(), err)
		}
	}
	// What an older version, or a mkdir, left: 0755 dirs, 0644 files.
	old := filepath.Join(l.ReadModels, "gen-1", "readmodels.db")
	if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(l.Ledger, "tree")
	for path, mode := range map[string]os.FileMode{old: 0o644, tree: 0o664} {
		if err := os.WriteFile(path, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	for path, mode := range map[string]os.FileMode{l.Root: 0o755, l.Store: 0o755, filepath.Dir(old): 0o755, old: 0o644, tree: 0o664} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	tightened, err := l.Prepare()
	if err != nil || !tightened {
		t.Fatalf("old: %v %v", tightened, err)
	}
	for path, want := range map[string]os.FileMode{l.Root: 0o700, l.Store: 0o700, filepath.Dir(old): 0o700, old: 0o600, tree: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, want %04o (%v)", path, fi.Mode().Perm(), want, err)
		}
	}
}
