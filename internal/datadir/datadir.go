// Package datadir is the one definition of what lives where under the
// service's data dir (--data-dir): the embedded event store, the read
// models, the verifiable log and the keys. The service (app) and the
// command line (cmd/ledger) both build their paths from a Layout.
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
	// Keys is the directory of the checkpoint signing key.
	Keys string
	// TokenKeyDir is the directory holding the token signing key
	// (TokenKey); it is the data dir itself.
	TokenKeyDir string
	// TokenKey is the token signing key's file.
	TokenKey string
}

// New returns the layout of the data dir root.
func New(root string) Layout {
	return Layout{
		Root:        root,
		Store:       filepath.Join(root, "jetstream"),
		ReadModels:  filepath.Join(root, "readmodels"),
		Ledger:      filepath.Join(root, "ledger"),
		Keys:        filepath.Join(root, "keys"),
		TokenKeyDir: root,
		TokenKey:    filepath.Join(root, auth.KeyFile),
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

// LoadTokenKey reads the token signing key of an existing data dir,
// creating nothing: it fails, naming the absolute path, when the data dir
// or the key does not exist.
func (l Layout) LoadTokenKey() (*auth.Signer, error) {
	if err := l.MustExist(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(l.TokenKey); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no token key %s (has a server run with this --data-dir?)", ErrNoDataDir, Abs(l.TokenKey))
	}
	return auth.LoadOrCreateKey(l.TokenKeyDir)
}
