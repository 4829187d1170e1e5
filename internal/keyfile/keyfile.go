// Package keyfile reads and creates secret key files: a key readable by
// group or others is refused, and a key is created whole or not at all,
// never over an existing one.
package keyfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// ErrExposed is the error of a key file readable or writable by group or
// others.
var ErrExposed = errs.New(errs.Invalid, "key file readable by group or others")

// Read returns the contents of the secret key file path. It fails with an
// error matching ErrExposed, on one line naming the file and the chmod to
// run, if the file's mode lets group or others read or write it; with an
// error matching fs.ErrNotExist if there is none.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat key %s: %w", path, err)
	}
	if err := CheckMode(path, fi.Mode()); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	return b, nil
}

// CheckMode returns an error matching ErrExposed if mode lets group or
// others access the key file path.
func CheckMode(path string, mode fs.FileMode) error {
	if mode.Perm()&0o077 == 0 {
		return nil
	}
	abs := path
	if a, err := filepath.Abs(path); err == nil {
		abs = a
	}
	return fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrExposed, abs, mode.Perm(), abs)
}

// Create writes data to path with the given mode, atomically and only if
// path does not exist: the file appears whole (written to a temporary file,
// synced, then linked to path) and an existing file is never overwritten.
// It fails with an error matching fs.ErrExist if path exists. The
// directory is created with mode 0700 if needed.
func Create(path string, mode fs.FileMode, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create keys dir: %w", err)
	}
	tmp, err := writeTemp(path, mode, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// link(2) fails if path exists: two processes creating the same key
	// at once cannot overwrite each other's.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create key %s: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("create key %s: %w", path, err)
	}
	return syncDir(dir)
}

// writeTemp writes data, synced, with mode, to a new temporary file beside
// path, and returns its name; the caller links or renames it into place
// and removes it.
func writeTemp(path string, mode fs.FileMode, data []byte) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write key %s: %w", path, err)
	}
	fail := func(err error) (string, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write key %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write key %s: %w", path, err)
	}
	return tmp.Name(), nil
}

// syncDir makes a new directory entry in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync keys dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync keys dir: %w", err)
	}
	return nil
}
