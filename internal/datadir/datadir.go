// Package datadir is the one definition of what lives where under the
// service's data dir (--data-dir): the embedded event store, the read
// models, the verifiable log and, by default, the keys dir. The service
// (app) and the command line (cmd/ledger) both build their paths from a
// Layout, and those of the keys dir from Keys (keys.go).
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Layout is the paths of everything under one data dir.
//
// WARNING: the paths are a persisted contract: existing data dirs are laid
// out this way; renaming one loses its data.
type Layout struct {
	// Root is the data dir itself, as given.
	Root string
	// Store is the embedded JetStream server's store directory.
	Store string
	// ReadModels is the directory of the SQLite read models.
	ReadModels string
	// Ledger is the verifiable log's directory (tree hashes, checkpoints).
	Ledger string
	// Keys is the default keys dir (see Keys), used when --keys-dir is
	// not given.
	Keys string
	// LegacyTokenKey is where the token signing key was before the keys
	// dir: a key found there is moved into the keys dir (MoveLegacyKeys).
	LegacyTokenKey string
}

// New returns the layout of the data dir root.
func New(root string) Layout {
	return Layout{
		Root:           root,
		Store:          filepath.Join(root, "jetstream"),
		ReadModels:     filepath.Join(root, "readmodels"),
		Ledger:         filepath.Join(root, "ledger"),
		Keys:           filepath.Join(root, "keys"),
		LegacyTokenKey: filepath.Join(root, auth.KeyFile),
	}
}

// ErrNoDataDir is the error of a data dir that does not exist where a
// command only reads one.
var ErrNoDataDir = errs.New(errs.NotFound, "no data dir")

// Abs returns the absolute form of path, or path itself if it has none.
func Abs(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// MustExist returns nil if the data dir exists and is a directory, and
// otherwise an error matching ErrNoDataDir that names its absolute path.
// Commands that only read a data dir call it first, so that run from the
// wrong directory they fail instead of creating a new, empty one.
func (l Layout) MustExist() error {
	fi, err := os.Stat(l.Root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist (run from the server's directory, or pass its --data-dir)", ErrNoDataDir, Abs(l.Root))
	case err != nil:
		return fmt.Errorf("data dir %s: %w", Abs(l.Root), err)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrNoDataDir, Abs(l.Root))
	}
	return nil
}
