// Package provenance proves that an event was written by the ledger's
// command side: the store (a JetStream cluster, its operators, anyone who
// can publish to it) need not be trusted. The command handler computes an
// HMAC-SHA256, with the deployment's provenance key, over the event's
// canonical bytes (everything the event is, but its global position, which
// the store assigns) and records it with the event. Readers verify it:
// an event whose provenance does not verify stays in the log as evidence
// (a leaf of the Merkle tree) but no read model, lookup, report or
// aggregate uses it.
//
// HMAC rather than a signature: it costs about a microsecond to make and to
// check, where an Ed25519 verification costs about fifty for every reader
// of every event. The key is symmetric, so only holders of the keys dir can
// check provenance; the Merkle log and its signed checkpoints are what
// anyone can check offline.
package provenance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// scheme prefixes every provenance string.
//
// WARNING: persisted in every event; never change it (add another scheme).
const scheme = "hmac-sha256"

// ErrUntrusted: an event's provenance is missing or does not verify.
var ErrUntrusted = errs.New(errs.Internal, "event provenance does not verify")

// Key is one provenance key.
type Key struct {
	// ID names the key in every provenance it makes, so that keys can be
	// rotated: letters, digits, '-' and '_'.
	ID string
	// Secret is the HMAC key, 32 bytes or more.
	Secret []byte
}

// Keyring signs with its current key and verifies with any of its keys.
// It is safe for concurrent use.
type Keyring struct {
	current Key
	keys    map[string]*sync.Pool // of keyed HMAC hashes, reset and reused
	// unsignedBefore: events at positions below it were written before
	// provenance existed and are trusted without it (the signed
	// checkpoints vouch for them).
	unsignedBefore uint64

	mu        sync.Mutex
	untrusted map[uint64]struct{}
	first     []uint64
	onNew     func(eventstore.Envelope, error)
}

// NewKeyring returns a keyring signing with current and verifying with
// current and older.
func NewKeyring(current Key, older ...Key) (*Keyring, error) {
	k := &Keyring{current: current, keys: map[string]*sync.Pool{}, untrusted: map[uint64]struct{}{}}
	for _, key := range append([]Key{current}, older...) {
		if key.ID == "" || strings.Trim(key.ID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			return nil, fmt.Errorf("provenance: key id %q must be letters, digits, '-' or '_'", key.ID)
		}
		if len(key.Secret) < 32 {
			return nil, fmt.Errorf("provenance: key %s is shorter than 32 bytes", key.ID)
		}
		secret := slices.Clone(key.Secret)
		k.keys[key.ID] = &sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}
	}
	return k, nil
}

// TrustUnsignedBefore trusts events without provenance at positions below
// pos: those written before the deployment had provenance.
func (k *Keyring) TrustUnsignedBefore(pos uint64) { k.unsignedBefore = pos }

// OnUntrusted calls f the first time each untrusted event is met (to log
// and count it).
func (k *Keyring) OnUntrusted(f func(eventstore.Envelope, error)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.onNew = f
}

// Sign records the provenance of e, to be appended at version in stream.
func (k *Keyring) Sign(stream string, version uint64, e *eventstore.NewEvent) {
	e.Provenance = scheme + ":" + k.current.ID + ":" + mac(k.keys[k.current.ID], canonical(stream, version, e.ID, e.Type, e.SchemaVersion, e.OccurredAt, e.Actor, e.CorrelationID, e.CausationID, e.Data))
}

// Verify checks a recorded event's provenance; an event that fails is
// remembered (Untrusted) and reported once to the OnUntrusted function.
func (k *Keyring) Verify(env eventstore.Envelope) error {
	err := k.verify(env)
	if err != nil {
		k.remember(env, err)
	}
	return err
}

func (k *Keyring) verify(env eventstore.Envelope) error {
	if env.Provenance == "" {
		if env.Position < k.unsignedBefore {
			return nil
		}
		return fmt.Errorf("%w: event %s at position %d has none", ErrUntrusted, env.ID, env.Position)
	}
	parts := strings.SplitN(env.Provenance, ":", 3)
	if len(parts) != 3 || parts[0] != scheme {
		return fmt.Errorf("%w: event %s at position %d: unknown scheme", ErrUntrusted, env.ID, env.Position)
	}
	secret, ok := k.keys[parts[1]]
	if !ok {
		return fmt.Errorf("%w: event %s at position %d: unknown key %q", ErrUntrusted, env.ID, env.Position, parts[1])
	}
	want := mac(secret, canonical(env.Stream, env.Version, env.ID, env.Type, env.SchemaVersion, env.OccurredAt, env.Actor, env.CorrelationID, env.CausationID, env.Data))
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return fmt.Errorf("%w: event %s at position %d: wrong MAC", ErrUntrusted, env.ID, env.Position)
	}
	return nil
}

// maxFirst bounds the positions Untrusted lists.
const maxFirst = 10

func (k *Keyring) remember(env eventstore.Envelope, err error) {
	k.mu.Lock()
	if _, seen := k.untrusted[env.Position]; seen {
		k.mu.Unlock()
		return
	}
	k.untrusted[env.Position] = struct{}{}
	if len(k.first) < maxFirst {
		k.first = append(k.first, env.Position)
		slices.Sort(k.first)
	}
	f := k.onNew
	k.mu.Unlock()
	if f != nil {
		f(env, err)
	}
}

// Untrusted returns how many distinct untrusted events were met, and the
// first positions among them.
func (k *Keyring) Untrusted() (count int, first []uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.untrusted), slices.Clone(k.first)
}

// canonical is what the MAC covers: every field of the event but its
// position and its provenance, in a fixed order, each as a netstring
// (length, ':', bytes, ','), which no two different events share. The data
// is taken as written: the command side encodes it compact (json.Marshal),
// and the store keeps compact data as it is.
func canonical(stream string, version uint64, id, typ string, schema int, at time.Time, actor eventstore.Actor, corr, caus string, data []byte) []byte {
	var num [20]byte
	b := make([]byte, 0, 192+len(stream)+len(id)+len(typ)+len(actor.ID)+len(corr)+len(caus)+len(data))
	b = append(b, "v1;"...)
	field := func(s []byte) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
		b = append(b, ',')
	}
	field([]byte(stream))
	field(strconv.AppendUint(num[:0], version, 10))
	field([]byte(id))
	field([]byte(typ))
	field(strconv.AppendInt(num[:0], int64(schema), 10))
	field(at.UTC().AppendFormat(num[:0], time.RFC3339Nano))
	field([]byte(actor.Role))
	field([]byte(actor.ID))
	field([]byte(corr))
	field([]byte(caus))
	field(data)
	return b
}

func mac(pool *sync.Pool, msg []byte) string {
	h := pool.Get().(hash.Hash)
	h.Reset()
	h.Write(msg)
	var sum [sha256.Size]byte
	out := base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0]))
	pool.Put(h)
	return out
}
