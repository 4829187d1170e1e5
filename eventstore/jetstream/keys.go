package jetstream

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// KeysBucket is the JetStream key-value bucket of the idempotency keys.
//
// WARNING: persisted; never rename it.
const KeysBucket = "LEDGER_IDEMPOTENCY"

// Keys records, for each idempotency key, the fingerprint of the request
// it was first used with, so that a key reused for another request is
// recognised whatever company that request concerns (the events' ids
// recognise a retry only within one company's stream). It is a JetStream
// key-value bucket on the ledger's server, with the ledger stream's
// storage, replicas and durability. It is safe for concurrent use.
type Keys struct {
	kv njs.KeyValue
}

// keyPattern is what a key-value key may be.
var keyPattern = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

// IdempotencyKeys returns the register of idempotency keys, creating its
// bucket if needed.
func (s *Store) IdempotencyKeys(ctx context.Context) (*Keys, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	replicas := 1
	if s.stream != nil {
		replicas = max(1, s.stream.CachedInfo().Config.Replicas)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, njs.KeyValueConfig{
		Bucket:      KeysBucket,
		Description: "attestation ledger: the request each idempotency key was first used with",
		History:     1,
		Storage:     njs.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("open idempotency keys: %w", translate(err))
	}
	return &Keys{kv: kv}, nil
}

// Claim records fingerprint for key unless the key is already known, and
// returns the fingerprint the key was first claimed with (fingerprint
// itself the first time). Two concurrent claims of one key with different
// fingerprints: exactly one wins, the other gets the winner's. The record
// is durable when Claim returns. key must be a valid key-value key
// (letters, digits, "-/_=.").
func (k *Keys) Claim(ctx context.Context, key, fingerprint string) (string, error) {
	if !keyPattern.MatchString(key) {
		return "", fmt.Errorf("claim idempotency key: invalid key %q", key)
	}
	if _, err := k.kv.Create(ctx, key, []byte(fingerprint)); err == nil {
		return fingerprint, nil
	} else if !errors.Is(err, njs.ErrKeyExists) {
		return "", fmt.Errorf("claim idempotency key: %w", translate(err))
	}
	e, err := k.kv.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("claim idempotency key: %w", translate(err))
	}
	return string(e.Value()), nil
}
