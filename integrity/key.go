package integrity

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Files of the signing key, in Config.KeyDir.
const (
	// signerKeyName holds the note signer key ("PRIVATE+KEY+name+hash+…"),
	// mode 0600.
	signerKeyName = "checkpoint-signer.key"
	// verifierKeyName holds the matching verifier key, "name+hash+base64".
	verifierKeyName = "checkpoint-verifier.key"
)

// key is the checkpoint signing key.
type key struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

// loadOrCreateKey loads the key in dir, or creates one named name at first
// start. The verifier key is written before the signer key, so a signer
// key on disk always has its verifier key beside it.
func loadOrCreateKey(dir, name string) (*key, error) {
	skeyPath := filepath.Join(dir, signerKeyName)
	data, err := os.ReadFile(skeyPath)
	if errors.Is(err, fs.ErrNotExist) {
		skey, vkey, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			return nil, fmt.Errorf("generate checkpoint key: %w", err)
		}
		if err := writeBytesAtomic(dir, verifierKeyName, 0o644, []byte(vkey+"\n")); err != nil {
			return nil, fmt.Errorf("save verifier key: %w", err)
		}
		if err := writeBytesAtomic(dir, signerKeyName, 0o600, []byte(skey+"\n")); err != nil {
			return nil, fmt.Errorf("save checkpoint key: %w", err)
		}
		return newKey(skey, vkey, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint key: %w", err)
	}
	fi, err := os.Stat(skeyPath)
	if err != nil {
		return nil, fmt.Errorf("stat checkpoint key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("checkpoint key %s is accessible to others (mode %v); chmod 600 it", skeyPath, fi.Mode().Perm())
	}
	vdata, err := os.ReadFile(filepath.Join(dir, verifierKeyName))
	if err != nil {
		return nil, fmt.Errorf("read verifier key: %w", err)
	}
	return newKey(strings.TrimSpace(string(data)), strings.TrimSpace(string(vdata)), name)
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
	return &key{signer: s, verifier: v, vkey: vkey}, nil
}
