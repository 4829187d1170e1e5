package keyfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "k.key")
	if err := Create(path, 0o600, []byte("first")); err != nil {
		t.Fatal(err)
	}
	err := Create(path, 0o600, []byte("second"))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Create = %v, want ErrExist", err)
	}
	got, err := Read(path)
	if err != nil || string(got) != "first" {
		t.Fatalf("Read = %q, %v", got, err)
	}
	fi, _ := os.Stat(path)
	di, _ := os.Stat(filepath.Dir(path))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("modes: file %v, dir %v", fi.Mode(), di.Mode())
	}
	left, _ := os.ReadDir(filepath.Dir(path))
	if len(left) != 1 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestReadRefusesExposedKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	if err := Create(path, 0o600, []byte("k")); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []fs.FileMode{0o640, 0o604, 0o644, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path)
		if !errors.Is(err, ErrExposed) || strings.Contains(err.Error(), "\n") ||
			!strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Fatalf("mode %v: Read = %v", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err != nil {
		t.Fatalf("0400: %v", err)
	}
}
