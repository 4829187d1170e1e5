package datadir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
)

// KeyInfo describes one key of a keys dir, without its secret: what a key
// inventory (`ledger keys list`, the security report) shows.
type KeyInfo struct {
	// Name is the key's name: token, checkpoint-signer,
	// checkpoint-verifier, provenance, nats-ledger or nats-auditor.
	Name string `json:"name"`
	// Purpose says what the key does.
	Purpose string `json:"purpose"`
	// Path is the file's absolute path.
	Path string `json:"path"`
	// ID names the key publicly: a key id, a public key or a fingerprint.
	ID string `json:"id"`
	// Status is "current" (signs), "verify only" (an older or staged
	// provenance key), "public", or "missing".
	Status string `json:"status"`
	// Mode is the file's permission bits, e.g. "0600".
	Mode string `json:"mode,omitempty"`
	// Modified is when the file last changed (a rotation).
	Modified time.Time `json:"modified,omitzero"`
	// Problem is what is wrong with the key, if anything (readable by
	// others, unreadable).
	Problem string `json:"problem,omitempty"`
}

// Inventory lists every key of the keys dir (one entry per provenance key
// of the keyring), in a fixed order, with a problem noted rather than
// returned for a key that is missing, exposed or unreadable.
func (k Keys) Inventory() []KeyInfo {
	var out []KeyInfo
	add := func(info KeyInfo, path string, secret bool, id func() (string, error)) {
		info.Path = Abs(path)
		st, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			info.Status = "missing"
			out = append(out, info)
			return
		}
		if err != nil {
			info.Problem = err.Error()
			out = append(out, info)
			return
		}
		info.Mode = modeOctal(st.Mode().Perm())
		info.Modified = st.ModTime().UTC()
		if secret {
			if err := keyfile.CheckMode(path, st.Mode()); err != nil {
				info.Problem = err.Error()
			}
		}
		if info.ID, err = id(); err != nil && info.Problem == "" {
			info.Problem = err.Error()
		}
		out = append(out, info)
	}
	add(KeyInfo{Name: "token", Purpose: "signs the API's tokens (Ed25519)", Status: "current"}, k.TokenKey, true, func() (string, error) {
		s, err := k.LoadTokenKey()
		if err != nil {
			return "", err
		}
		pub, err := s.PublicKeyPEM()
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(pub)
		return "sha256:" + hex.EncodeToString(sum[:8]), nil
	})
	add(KeyInfo{Name: "checkpoint-signer", Purpose: "signs the verifiable log's checkpoints (Ed25519 note key)", Status: "current"}, k.CheckpointSigner, true, func() (string, error) {
		return k.verifierName()
	})
	add(KeyInfo{Name: "checkpoint-verifier", Purpose: "what auditors check checkpoints with", Status: "public"}, k.CheckpointVerifier, false, func() (string, error) {
		return k.verifierName()
	})
	ring, ringErr := k.LoadProvenanceKeys()
	if ringErr != nil || len(ring) == 0 {
		add(KeyInfo{Name: "provenance", Purpose: "proves the ledger wrote each event (HMAC-SHA256)", Status: "current"}, k.Provenance, true, func() (string, error) {
			return "", ringErr
		})
	}
	for i, key := range ring {
		status := "current"
		if i > 0 {
			status = "verify only"
		}
		add(KeyInfo{Name: "provenance", Purpose: "proves the ledger wrote each event (HMAC-SHA256)", Status: status}, k.Provenance, true, func() (string, error) {
			return key.ID, nil
		})
	}
	for _, u := range []struct{ name, path, purpose string }{
		{"nats-ledger", k.NATSLedger, "the ledger's NATS user (nkey): no stream delete or purge"},
		{"nats-auditor", k.NATSAuditor, "a read-only NATS user (nkey) for auditors tailing the log"},
	} {
		add(KeyInfo{Name: u.name, Purpose: u.purpose, Status: "current"}, u.path, true, func() (string, error) {
			_, pub, err := LoadNATSSeed(u.path)
			return pub, err
		})
	}
	return out
}

// verifierName is the checkpoint key's public name: "name+hash" of the
// verifier key.
func (k Keys) verifierName() (string, error) {
	b, err := os.ReadFile(k.CheckpointVerifier)
	if err != nil {
		return "", err
	}
	parts := strings.SplitN(strings.TrimSpace(string(b)), "+", 3)
	if len(parts) < 3 {
		return "", errors.New("checkpoint verifier key: want name+hash+key")
	}
	return parts[0] + "+" + parts[1], nil
}

func modeOctal(m fs.FileMode) string {
	const digits = "01234567"
	p := uint32(m.Perm())
	return string([]byte{'0', digits[p>>6&7], digits[p>>3&7], digits[p&7]})
}
