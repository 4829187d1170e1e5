package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// ErrIdempotencyMismatch: an idempotency key was reused with another input.
var ErrIdempotencyMismatch = errs.NewCode(errs.Conflict, "idempotency-key-reused", "idempotency key already used with a different request")

// Keys is the durable register of idempotency keys. A retry is recognised
// from the company's own stream (its events' ids derive from the key), but
// a key reused for another company's command lands in another stream: the
// register, shared by every process, catches that.
type Keys interface {
	// Claim records fingerprint for key unless the key is known, and
	// returns the fingerprint the key was first claimed with. Concurrent
	// claims of one key: exactly one fingerprint wins. key is made of
	// letters, digits and "-/_=.".
	Claim(ctx context.Context, key, fingerprint string) (first string, err error)
}

// idempotency is what a command's idempotency key makes of it on one
// company's stream: the ids of its events and its causation id, derived
// from the key so that a retry is recognised in the stream, and the claim
// of the key in the register, so that a reuse for another company is
// refused. Without a key, ids are fresh and nothing is claimed.
type idempotency struct {
	meta Meta
	keys Keys
	// base prefixes the command's event ids; empty without a key.
	base string
	// cause is the causation id with a key.
	cause   string
	claimed bool
}

// newIdempotency derives a command's ids on a stream.
func newIdempotency(meta Meta, stream string, keys Keys) idempotency {
	i := idempotency{meta: meta, keys: keys}
	if meta.IdempotencyKey == "" {
		return i
	}
	scope := string(meta.Actor.Role) + "\x00" + meta.Actor.ID + "\x00" + meta.IdempotencyKey + "\x00"
	ids := sha256.Sum256([]byte(scope + stream))
	i.base = "idem-" + hex.EncodeToString(ids[:12])
	cause := sha256.Sum256([]byte(scope + meta.RequestHash))
	i.cause = "cmd-" + hex.EncodeToString(cause[:16])
	return i
}

// keyID is the register's key for an idempotency key: keys are scoped to
// their caller, and hashed to fit the register's alphabet.
func (i *idempotency) keyID() string {
	sum := sha256.Sum256([]byte(string(i.meta.Actor.Role) + "\x00" + i.meta.Actor.ID + "\x00" + i.meta.IdempotencyKey))
	return hex.EncodeToString(sum[:])
}

// causationID identifies the command that caused events: with an
// idempotency key, a digest of the key and the input, so that a retry can
// be told from a reuse; otherwise a fresh id.
func (i *idempotency) causationID(now time.Time) string {
	if i.base == "" {
		return "cmd-" + ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()
	}
	return i.cause
}

// eventIDs returns the ids of the command's n events: derived from the key
// and the stream (so that a retry is recognised, and ids stay unique across
// the log even if a key is reused for another company) or fresh ULIDs.
func (i *idempotency) eventIDs(n int, now time.Time) []string {
	ids := make([]string, n)
	for k := range ids {
		if i.base != "" {
			ids[k] = i.base + "-" + strconv.Itoa(k)
		} else {
			ids[k] = ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()
		}
	}
	return ids
}

// replay looks for the command's events in a loaded stream: found, it
// returns the original outcome (the stream up to the command's last event),
// or ErrIdempotencyMismatch when the key was used there with another input.
func (i *idempotency) replay(l loaded) (Outcome, bool, error) {
	if i.base == "" {
		return Outcome{}, false, nil
	}
	firstID := i.base + "-0"
	first, ok := l.event(firstID)
	if !ok {
		return Outcome{}, false, nil
	}
	if first.CausationID != i.cause {
		return Outcome{}, false, ErrIdempotencyMismatch
	}
	pos := lastPositionOf(l.envelopes, i.base+"-")
	n, firstAt := 0, 0
	for n < len(l.envelopes) && l.envelopes[n].Position <= pos {
		if l.envelopes[n].ID == firstID {
			firstAt = n
		}
		n++
	}
	return Outcome{Events: l.envelopes[:n], Decoded: l.events[:n], Position: pos, Replayed: true, FirstEvent: l.events[firstAt]}, true, nil
}

// claim claims the key in the register, once per command: called only
// when the command is about to append, so that a refused command leaves
// its key free for a corrected request.
func (i *idempotency) claim(ctx context.Context) error {
	if i.base == "" || i.claimed {
		return nil
	}
	first, err := i.keys.Claim(ctx, i.keyID(), i.meta.RequestHash)
	if err != nil {
		return err
	}
	if first != i.meta.RequestHash {
		return ErrIdempotencyMismatch
	}
	i.claimed = true
	return nil
}

// lastPositionOf returns the position of the last event whose id starts
// with prefix (the events of one command share their ids' prefix).
func lastPositionOf(envs []eventstore.Envelope, prefix string) uint64 {
	var pos uint64
	for _, env := range envs {
		if len(env.ID) > len(prefix) && env.ID[:len(prefix)] == prefix {
			pos = env.Position
		}
	}
	return pos
}
