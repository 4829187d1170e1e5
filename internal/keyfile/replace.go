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
	tmp, err := writeTemp(path, mode, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace key %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}
