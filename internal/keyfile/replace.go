package keyfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Replace writes data to path with the given mode, atomically: the new
// contents appear whole in place of the old ones (a temporary file,
// synced, renamed over path), never half-written. For key files that
// change by design (a keyring gaining a key); Create is for the others.
func Replace(path string, mode fs.FileMode, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("replace key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("replace key %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write key %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync key %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close key %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace key %s: %w", path, err)
	}
	return syncDir(dir)
}
