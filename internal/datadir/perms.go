package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Prepare makes the data dir ready for the service and private to its
// user: it is created with mode 0700 if missing, and an existing one that
// group or others may enter is narrowed to 0700 (a mkdir with the usual
// umask makes 0755, through which another user read company names out of
// the read models); tightened says it was, for the caller to warn. Its
// subdirectories (the event store, the read models, the verifiable log)
// are made 0700, and the files of the read models and of the verifiable
// log 0600, so that a data dir written by an older version (0755
// directories, 0644 files) is private too.
func (l Layout) Prepare() (tightened bool, err error) {
	if err := os.MkdirAll(l.Root, 0o700); err != nil {
		return false, fmt.Errorf("create data dir: %w", err)
	}
	fi, err := os.Stat(l.Root)
	if err != nil {
		return false, fmt.Errorf("data dir %s: %w", Abs(l.Root), err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(l.Root, perm&^0o077); err != nil {
			return false, fmt.Errorf("make data dir %s private: %w", Abs(l.Root), err)
		}
		tightened = true
	}
	for _, d := range []string{l.Store, l.ReadModels, l.Ledger} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return tightened, fmt.Errorf("create %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return tightened, fmt.Errorf("make %s private: %w", d, err)
		}
	}
	for _, d := range []string{l.ReadModels, l.Ledger} {
		if err := privateTree(d); err != nil {
			return tightened, err
		}
	}
	return tightened, nil
}

// privateTree takes group and others' rights away from everything under
// dir.
func privateTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(path, perm&^0o077); err != nil {
				return fmt.Errorf("make %s private: %w", path, err)
			}
		}
		return nil
	})
}
