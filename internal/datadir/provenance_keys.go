package datadir

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
	"github.com/attestation-ledger/attestation-ledger/internal/provenance"
)

// The provenance key file is a keyring, one key a line, "<key id> <base64
// of 32 bytes>": the first line is the current key, which signs what the
// instance writes; the others only verify. Rotating it takes two steps,
// each followed by a rolling restart of every instance, because an
// instance that does not know a key counts every event signed with it as
// forged:
//
//  1. StageProvenanceKey adds a new key as verify-only (last line);
//  2. once every instance runs with it, PromoteProvenanceKey makes it the
//     current one (first line).
//
// A key is never removed: the events it signed must stay verifiable.

// LoadProvenanceKeys reads the provenance keyring, current key first. It
// fails with an error matching ErrNoKey when there is none.
func (k Keys) LoadProvenanceKeys() ([]provenance.Key, error) {
	b, err := keyfile.Read(k.Provenance)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no provenance key %s (run `ledger keys init`)", ErrNoKey, Abs(k.Provenance))
	}
	if err != nil {
		return nil, err
	}
	var keys []provenance.Key
	seen := map[string]bool{}
	for n, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		id, b64, ok := strings.Cut(strings.TrimSpace(line), " ")
		key, derr := base64.StdEncoding.DecodeString(b64)
		if !ok || id == "" || derr != nil || len(key) != ProvenanceKeySize {
			return nil, fmt.Errorf("provenance key %s, line %d: want \"<key id> <base64 of %d bytes>\"", Abs(k.Provenance), n+1, ProvenanceKeySize)
		}
		if seen[id] {
			return nil, fmt.Errorf("provenance key %s: key id %s twice", Abs(k.Provenance), id)
		}
		seen[id] = true
		keys = append(keys, provenance.Key{ID: id, Secret: key})
	}
	return keys, nil
}

// StageProvenanceKey adds a new provenance key to the keyring, verify-only,
// and returns its id.
func (k Keys) StageProvenanceKey() (string, error) {
	keys, err := k.LoadProvenanceKeys()
	if err != nil {
		return "", err
	}
	line, err := newProvenanceKey()
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(string(line), " ")
	return id, k.writeProvenanceKeys(keys, string(line))
}

// PromoteProvenanceKey makes the key id, already in the keyring, the
// current one; the former current key stays to verify.
func (k Keys) PromoteProvenanceKey(id string) error {
	keys, err := k.LoadProvenanceKeys()
	if err != nil {
		return err
	}
	i := -1
	for j, key := range keys {
		if key.ID == id {
			i = j
		}
	}
	if i < 0 {
		return errs.Errorf(errs.NotFound, "provenance key %s is not in %s: stage it first (`ledger keys provenance stage`)", id, Abs(k.Provenance))
	}
	promoted := keys[i]
	keys = append([]provenance.Key{promoted}, slices.Delete(keys, i, i+1)...)
	return k.writeProvenanceKeys(keys, "")
}

func (k Keys) writeProvenanceKeys(keys []provenance.Key, extra string) error {
	var b strings.Builder
	for _, key := range keys {
		b.WriteString(key.ID + " " + base64.StdEncoding.EncodeToString(key.Secret) + "\n")
	}
	b.WriteString(extra)
	return keyfile.Replace(k.Provenance, 0o600, []byte(b.String()))
}
