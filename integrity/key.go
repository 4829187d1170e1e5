package integrity

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
)

// Files of the signing key, in Config.KeyDir.
//
// WARNING: a persisted contract: renaming one loses the key of every
// published checkpoint.
const (
	// SignerKeyFile holds the note signer key ("PRIVATE+KEY+name+hash+…"),
	// mode 0600.
	SignerKeyFile = "checkpoint-signer.key"
	// VerifierKeyFile holds the matching verifier key, "name+hash+base64"
	// (public, mode 0644). It can always be derived from the signer key.
	VerifierKeyFile = "checkpoint-verifier.key"

	signerKeyName   = SignerKeyFile
	verifierKeyName = VerifierKeyFile
)

// key is the checkpoint signing key.
type key struct {
	skey     string
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

// InitKey creates the checkpoint signing key named origin in dir unless
// one exists (never overwriting it), and returns its verifier key and
// whether it was created. An existing key is checked as Open checks it:
// refused if group or others can read it or if it is named after another
// origin.
func InitKey(dir, origin string) (verifierKey string, created bool, err error) {
	if origin == "" {
		origin = DefaultOrigin
	}
	k, created, err := loadOrCreate(dir, origin)
	if err != nil {
		return "", false, err
	}
	return k.vkey, created, nil
}

// loadOrCreateKey loads the key in dir, or creates one named name at first
// start.
func loadOrCreateKey(dir, name string) (*key, error) {
	k, _, err := loadOrCreate(dir, name)
	return k, err
}

// loadOrCreate loads the key in dir, or creates one named name (created is
// then true). Two processes creating it at once agree on one key: the
// signer key is created exclusively, and the loser reads the winner's. A
// missing verifier key file is derived from the signer key.
func loadOrCreate(dir, name string) (_ *key, created bool, err error) {
	skeyPath := filepath.Join(dir, signerKeyName)
	data, err := keyfile.Read(skeyPath)
	if errors.Is(err, fs.ErrNotExist) {
		skey, _, gerr := note.GenerateKey(rand.Reader, name)
		if gerr != nil {
			return nil, false, fmt.Errorf("generate checkpoint key: %w", gerr)
		}
		err = keyfile.Create(skeyPath, 0o600, []byte(skey+"\n"))
		switch {
		case err == nil:
			data, created = []byte(skey), true
		case errors.Is(err, fs.ErrExist):
			data, err = keyfile.Read(skeyPath)
		}
	}
	if err != nil {
		if errors.Is(err, keyfile.ErrExposed) {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("read checkpoint key: %w", err)
	}
	skey := strings.TrimSpace(string(data))
	if created {
		// A verifier key file left without its signer key belongs to no
		// key any more: the new key's replaces it.
		vkey, err := verifierOf(skey)
		if err != nil {
			return nil, false, err
		}
		if err := writeBytesAtomic(dir, verifierKeyName, 0o644, []byte(vkey+"\n")); err != nil {
			return nil, false, fmt.Errorf("save verifier key: %w", err)
		}
	}
	vkeyPath := filepath.Join(dir, verifierKeyName)
	vdata, err := os.ReadFile(vkeyPath)
	if errors.Is(err, fs.ErrNotExist) {
		vkey, derr := verifierOf(skey)
		if derr != nil {
			return nil, false, derr
		}
		if err = keyfile.Create(vkeyPath, 0o644, []byte(vkey+"\n")); err == nil {
			vdata = []byte(vkey)
		} else if errors.Is(err, fs.ErrExist) {
			vdata, err = os.ReadFile(vkeyPath)
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("read verifier key: %w", err)
	}
	k, err := newKey(skey, strings.TrimSpace(string(vdata)), name)
	return k, created, err
}

// verifierOf derives the verifier key of an Ed25519 note signer key
// ("PRIVATE+KEY+name+hash+base64(alg, seed)").
func verifierOf(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("checkpoint key: malformed signer key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("checkpoint key: not an Ed25519 signer key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

func newKey(skey, vkey, name string) (*key, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	if s.Name() != name {
		return nil, fmt.Errorf("checkpoint key is named %q but the origin is %q: the origin of a published log cannot change", s.Name(), name)
	}
	if v.Name() != s.Name() || v.KeyHash() != s.KeyHash() {
		return nil, fmt.Errorf("verifier key %s+%08x does not match checkpoint key %s+%08x", v.Name(), v.KeyHash(), s.Name(), s.KeyHash())
	}
	msg := []byte("attestation-ledger key check\n")
	sig, err := s.Sign(msg)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key: %w", err)
	}
	if !v.Verify(msg, sig) {
		return nil, fmt.Errorf("verifier key does not verify the checkpoint key's signatures")
	}
	return &key{skey: skey, signer: s, verifier: v, vkey: vkey}, nil
}

// renamed returns the key with the same Ed25519 seed under another name
// (see Config.KeyName): a note key's name is part of its key hash, so the
// renamed key has its own verifier key.
func (k *key) renamed(name string) (*key, error) {
	parts := strings.SplitN(k.skey, "+", 5)
	if len(parts) != 5 {
		return nil, errors.New("checkpoint key: malformed signer key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, errors.New("checkpoint key: not an Ed25519 signer key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key named %q: %w", name, err)
	}
	vparts := strings.SplitN(vkey, "+", 3)
	return newKey("PRIVATE+KEY+"+name+"+"+vparts[1]+"+"+parts[4], vkey, name)
}
