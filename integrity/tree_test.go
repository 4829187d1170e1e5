package integrity

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

func TestAppendRefusesGapsAndDuplicates(t *testing.T) {
	rng := newRand(t)
	envs := readAll(t, newStore(t, rng, 10))
	l := openLog(t, testConfig(t))
	ctx := context.Background()
	if _, err := l.Append(ctx, envs[:4]...); err != nil {
		t.Fatal(err)
	}
	zero := envs[4]
	zero.Position = 0
	for name, batch := range map[string][]eventstore.Envelope{
		"gap":       {envs[5]},
		"duplicate": {envs[3]},
		"holes":     {envs[4], envs[6]},
		"repeat":    {envs[4], envs[4]},
		"position0": {zero},
	} {
		if _, err := l.Append(ctx, batch...); !errors.Is(err, ErrOutOfOrder) {
			t.Errorf("%s: Append = %v, want ErrOutOfOrder", name, err)
		}
	}
	if size, _ := l.Size(); size != 4 {
		t.Fatalf("size %d after refused appends, want 4", size)
	}
	if _, err := l.Append(ctx, envs[4:]...); err != nil {
		t.Fatal(err)
	}
	roots := refRoots(t, envs)
	if _, root := l.Size(); !bytes.Equal(root[:], roots[10]) {
		t.Fatal("root differs from transparency-dev's")
	}
}

func TestTreePersistsAcrossReopen(t *testing.T) {
	rng := newRand(t)
	envs := readAll(t, newStore(t, rng, 300))
	roots := refRoots(t, envs)
	cfg := testConfig(t)
	ctx := context.Background()
	l, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, envs[:123]...); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, cfg)
	if size, root := l.Size(); size != 123 || !bytes.Equal(root[:], roots[123]) {
		t.Fatalf("reopened: size %d root %s", size, root)
	}
	if _, err := l.Append(ctx, envs[123:]...); err != nil {
		t.Fatal(err)
	}
	if _, root := l.Size(); !bytes.Equal(root[:], roots[300]) {
		t.Fatal("root after reopen and append differs from transparency-dev's")
	}
	if got := tlog.StoredHashCount(300) * tlog.HashSize; fileSize(t, cfg.Dir, hashesName) != got {
		t.Fatalf("hash file has %d bytes, want %d", fileSize(t, cfg.Dir, hashesName), got)
	}
}

// A write of the tree that fails (a full disk, here a directory in the
// way of the commit record) leaves it at its last commit; appends fail
// while the cause lasts and go on, to the right roots, once it is gone,
// with no reopening.
func TestTreeHealsAfterAFailedWrite(t *testing.T) {
	rng := newRand(t)
	envs := readAll(t, newStore(t, rng, 10))
	roots := refRoots(t, envs)
	cfg := testConfig(t)
	l := openLog(t, cfg)
	ctx := context.Background()
	if _, err := l.Append(ctx, envs[:5]...); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(cfg.Dir, sizeName+".tmp")
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := l.Append(ctx, envs[5:8]...); err == nil {
			t.Fatal("an append succeeded while the commit record could not be written")
		}
		if size, root := l.Size(); size != 5 || !bytes.Equal(root[:], roots[5]) {
			t.Fatalf("after a failed write the tree is at %d, want its last commit, 5", size)
		}
	}
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, envs[5:]...); err != nil {
		t.Fatalf("append once the cause is gone: %v", err)
	}
	if size, root := l.Size(); size != 10 || !bytes.Equal(root[:], roots[10]) {
		t.Fatalf("tree at %d after healing, want 10 with the reference root", size)
	}
}
