package datadir

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nkeys"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
)

// Files of the keys dir that no other package names.
//
// WARNING: a persisted contract, like every path of the keys dir.
const (
	// ProvenanceKeyFile is the event-provenance HMAC-SHA256 key.
	ProvenanceKeyFile = "provenance-hmac.key"
	// NATSLedgerFile is the nkey seed of the ledger's own NATS user.
	NATSLedgerFile = "nats-ledger.nk"
	// NATSAuditorFile is the nkey seed of the read-only NATS auditor user.
	NATSAuditorFile = "nats-auditor.nk"
)

// ProvenanceKeySize is the size of the provenance key in bytes.
const ProvenanceKeySize = 32

// Keys is the layout of a keys dir (--keys-dir, by default the data dir's
// keys/): every key of a deployment, shared by all its instances. Secret
// keys are 0600 files in a 0700 dir; a secret key readable by group or
// others is refused (keyfile.ErrExposed).
type Keys struct {
	// Dir is the keys dir itself.
	Dir string
	// TokenKey is the Ed25519 key signing the API's tokens (PKCS #8 PEM).
	TokenKey string
	// CheckpointSigner is the note signer key of the signed checkpoints.
	CheckpointSigner string
	// CheckpointVerifier is its verifier key (public, 0644): what an
	// auditor checks checkpoints with.
	CheckpointVerifier string
	// Provenance is the HMAC-SHA256 key of event provenance: one line
	// "<key id> <base64 of 32 bytes>".
	Provenance string
	// NATSLedger is the nkey seed of the ledger's own NATS user: the
	// embedded server admits it, and the service connects with it.
	NATSLedger string
	// NATSAuditor is the nkey seed of the read-only NATS user, to give to
	// an auditor tailing the log.
	NATSAuditor string
}

// NewKeys returns the layout of the keys dir dir.
func NewKeys(dir string) Keys {
	return Keys{
		Dir:                dir,
		TokenKey:           filepath.Join(dir, auth.KeyFile),
		CheckpointSigner:   filepath.Join(dir, integrity.SignerKeyFile),
		CheckpointVerifier: filepath.Join(dir, integrity.VerifierKeyFile),
		Provenance:         filepath.Join(dir, ProvenanceKeyFile),
		NATSLedger:         filepath.Join(dir, NATSLedgerFile),
		NATSAuditor:        filepath.Join(dir, NATSAuditorFile),
	}
}

// KeysDir returns the layout of the keys dir: dir if not empty (--keys-dir),
// else the data dir's default.
func (l Layout) KeysDir(dir string) Keys {
	if dir == "" {
		dir = l.Keys
	}
	return NewKeys(dir)
}

// ErrNoKey is the error of a key that does not exist where a command only
// reads one.
var ErrNoKey = errs.New(errs.NotFound, "no key")

// MoveLegacyTokenKey moves a token key left at the data dir's old place
// (LegacyTokenKey) into the keys dir k, so that a data dir made before the
// keys dir keeps working with no manual step. The key is copied whole
// (keyfile.Create) before the old file is removed, so a crash between the
// two leaves the key in both places, never in none; the copy never
// overwrites a key already in k. When k already has another token key (a
// shared keys dir), the old file is left in place and returned as
// leftover, for the caller to warn about.
func (l Layout) MoveLegacyTokenKey(k Keys) (moved bool, leftover string, err error) {
	old, err := keyfile.Read(l.LegacyTokenKey)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	err = keyfile.Create(k.TokenKey, 0o600, old)
	switch {
	case err == nil:
		moved = true
	case errors.Is(err, fs.ErrExist):
		cur, err := keyfile.Read(k.TokenKey)
		if err != nil {
			return false, "", err
		}
		if !bytes.Equal(cur, old) {
			return false, l.LegacyTokenKey, nil
		}
	default:
		return false, "", fmt.Errorf("move the token key into the keys dir: %w", err)
	}
	if err := os.Remove(l.LegacyTokenKey); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return moved, "", fmt.Errorf("move the token key into the keys dir: %w", err)
	}
	return moved, "", nil
}

// MustExist returns nil if the keys dir exists, and otherwise an error
// matching ErrNoKey naming it and how to create it.
func (k Keys) MustExist() error {
	fi, err := os.Stat(k.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: keys dir %s does not exist (run `ledger keys init --keys-dir %s`, or pass the deployment's --keys-dir)", ErrNoKey, Abs(k.Dir), k.Dir)
	case err != nil:
		return fmt.Errorf("keys dir %s: %w", Abs(k.Dir), err)
	case !fi.IsDir():
		return fmt.Errorf("%w: keys dir %s is not a directory", ErrNoKey, Abs(k.Dir))
	}
	return nil
}

// LoadTokenKey reads the token signing key, creating nothing: it fails
// with an error matching ErrNoKey, naming the absolute path, when there is
// none.
func (k Keys) LoadTokenKey() (*auth.Signer, error) {
	s, err := auth.LoadKeyFile(k.TokenKey)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no token key %s (has a server run with this --data-dir or --keys-dir?)", ErrNoKey, Abs(k.TokenKey))
	}
	return s, err
}

// LoadProvenanceKey reads the current event-provenance key: its id (which
// an event's provenance names, so that the key can be rotated) and its 32
// bytes. It fails with an error matching ErrNoKey when there is none. See
// LoadProvenanceKeys for the whole keyring.
func (k Keys) LoadProvenanceKey() (keyID string, key []byte, err error) {
	keys, err := k.LoadProvenanceKeys()
	if err != nil {
		return "", nil, err
	}
	return keys[0].ID, keys[0].Secret, nil
}

// LoadNATSSeed reads the nkey seed of a NATS user of the keys dir
// (NATSLedger or NATSAuditor) and returns it with its public key.
func LoadNATSSeed(path string) (seed []byte, public string, err error) {
	b, err := keyfile.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%w: no NATS nkey %s (run `ledger keys init`)", ErrNoKey, Abs(path))
	}
	if err != nil {
		return nil, "", err
	}
	seed = bytes.TrimSpace(b)
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		return nil, "", fmt.Errorf("NATS nkey %s: %w", Abs(path), err)
	}
	defer kp.Wipe()
	if public, err = kp.PublicKey(); err != nil || !nkeys.IsValidPublicUserKey(public) {
		return nil, "", fmt.Errorf("NATS nkey %s: not a user seed", Abs(path))
	}
	return seed, public, nil
}

// Verifiers are the public keys of a keys dir: what others need to check
// what the deployment signs, or to let its NATS users in.
type Verifiers struct {
	// CheckpointVerifierKey is the note verifier key of the checkpoints.
	CheckpointVerifierKey string
	// TokenPublicKeyPEM is the token signing key's public key (PKIX PEM).
	TokenPublicKeyPEM string
	// NATSLedgerPublicKey and NATSAuditorPublicKey are the public nkeys of
	// the ledger's and the auditor's NATS users.
	NATSLedgerPublicKey, NATSAuditorPublicKey string
}

// Init creates every missing key of the keys dir (mode 0600, in a 0700
// dir), never overwriting one, and returns the files it created and the
// public keys. origin names the checkpoint key (an existing key named
// after another origin is refused). Every existing secret key is checked
// as the service loads it.
func (k Keys) Init(origin string) (created []string, v Verifiers, err error) {
	if err := os.MkdirAll(k.Dir, 0o700); err != nil {
		return nil, v, fmt.Errorf("create keys dir: %w", err)
	}
	made, err := createIfMissing(k.TokenKey, newTokenKey)
	if err != nil {
		return nil, v, err
	} else if made {
		created = append(created, k.TokenKey)
	}
	s, err := auth.LoadKeyFile(k.TokenKey)
	if err != nil {
		return nil, v, err
	}
	pub, err := s.PublicKeyPEM()
	if err != nil {
		return nil, v, err
	}
	v.TokenPublicKeyPEM = string(pub)
	if v.CheckpointVerifierKey, made, err = integrity.InitKey(k.Dir, origin); err != nil {
		return nil, v, err
	} else if made {
		created = append(created, k.CheckpointSigner)
	}
	if made, err = createIfMissing(k.Provenance, newProvenanceKey); err != nil {
		return nil, v, err
	} else if made {
		created = append(created, k.Provenance)
	}
	if _, _, err := k.LoadProvenanceKey(); err != nil {
		return nil, v, err
	}
	for _, u := range []struct {
		path   string
		public *string
	}{{k.NATSLedger, &v.NATSLedgerPublicKey}, {k.NATSAuditor, &v.NATSAuditorPublicKey}} {
		if made, err = createIfMissing(u.path, newNATSUserSeed); err != nil {
			return nil, v, err
		} else if made {
			created = append(created, u.path)
		}
		if _, *u.public, err = LoadNATSSeed(u.path); err != nil {
			return nil, v, err
		}
	}
	return created, v, nil
}

// createIfMissing creates the secret key file path with the contents gen
// makes, unless it exists; made says whether it did.
func createIfMissing(path string, gen func() ([]byte, error)) (made bool, err error) {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	b, err := gen()
	if err != nil {
		return false, err
	}
	err = keyfile.Create(path, 0o600, b)
	if errors.Is(err, fs.ErrExist) {
		return false, nil // created by another process meanwhile
	}
	return err == nil, err
}

// newTokenKey returns a new token signing key file.
func newTokenKey() ([]byte, error) {
	s, err := auth.GenerateKey()
	if err != nil {
		return nil, err
	}
	return s.PrivateKeyPEM()
}

// newProvenanceKey returns a new provenance key file: a random 8-byte key
// id in hex and 32 random bytes.
func newProvenanceKey() ([]byte, error) {
	var id [8]byte
	key := make([]byte, ProvenanceKeySize)
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("generate provenance key: %w", err)
	}
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate provenance key: %w", err)
	}
	return []byte(hex.EncodeToString(id[:]) + " " + base64.StdEncoding.EncodeToString(key) + "\n"), nil
}

// newNATSUserSeed returns a new NATS user nkey seed file (the format `nats
// --nkey` and nats.NkeyOptionFromSeed read).
func newNATSUserSeed() ([]byte, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("generate NATS nkey: %w", err)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("generate NATS nkey: %w", err)
	}
	return append(seed, '\n'), nil
}
