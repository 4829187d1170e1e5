package integrity

import (
	"bytes"
	"context"
	"errors"
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
