package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// AttestationsBucket is the JetStream key-value bucket of the attestation
// index: attestation number → the stream of the company it was issued to.
//
// WARNING: persisted; never rename it.
const AttestationsBucket = "LEDGER_ATTESTATIONS"

// AttestationIndex tells the company stream of an attestation number
// without a read model: the command side writes each issued number after
// the append that issues it. It is an index, not a record: the events are
// the truth, and a number it does not name (not written yet, lost in a
// crash) is found through the read models. On one server its bucket is
// therefore persisted asynchronously (flushed to disk in the background):
// an entry costs one plain publish, not another synchronous write beside
// every append; on a cluster (which persists replicated streams one way
// only) it is replicated as the ledger stream is. It is safe for
// concurrent use.
type AttestationIndex struct {
	kv njs.KeyValue
}

// AttestationIndex opens the attestation index, creating its bucket if
// needed.
func (s *Store) AttestationIndex(ctx context.Context) (*AttestationIndex, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	// The persist mode is fixed when a stream is made, and key-value
	// buckets are made with the default one: make the bucket's stream as
	// nats.go makes a bucket's, but persisted asynchronously.
	name := "KV_" + AttestationsBucket
	// nats-server persists replicated streams one way only: on a cluster
	// the index is written like the rest, acknowledged by a quorum.
	persist := njs.AsyncPersistMode
	if s.replicas() > 1 {
		persist = njs.DefaultPersistMode
	}
	if _, err := s.js.Stream(ctx, name); errors.Is(err, njs.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, njs.StreamConfig{
			Name:              name,
			Description:       "attestation ledger: the company stream each attestation number was issued on",
			Subjects:          []string{"$KV." + AttestationsBucket + ".>"},
			MaxMsgsPerSubject: 1,
			MaxMsgs:           -1,
			MaxBytes:          -1,
			MaxConsumers:      -1,
			MaxMsgSize:        -1,
			Storage:           njs.FileStorage,
			Replicas:          s.replicas(),
			AllowRollup:       true,
			DenyDelete:        true,
			AllowDirect:       true,
			Discard:           njs.DiscardNew,
			Duplicates:        2 * time.Minute,
			PersistMode:       persist,
		})
		if err != nil && !errors.Is(err, njs.ErrStreamNameAlreadyInUse) {
			return nil, fmt.Errorf("open attestation index: %w", translate(err))
		}
	} else if err != nil {
		return nil, fmt.Errorf("open attestation index: %w", translate(err))
	}
	kv, err := s.js.KeyValue(ctx, AttestationsBucket)
	if err != nil {
		return nil, fmt.Errorf("open attestation index: %w", translate(err))
	}
	return &AttestationIndex{kv: kv}, nil
}

// Claim records stream for number unless the number is known, and returns
// the stream the number was first recorded for.
func (x *AttestationIndex) Claim(ctx context.Context, number, stream string) (string, error) {
	if !keyPattern.MatchString(number) {
		return "", fmt.Errorf("index attestation number: invalid number %q", number)
	}
	_, err := x.kv.Create(ctx, number, []byte(stream))
	if err == nil {
		return stream, nil
	}
	if !errors.Is(err, njs.ErrKeyExists) {
		return "", fmt.Errorf("index attestation number %s: %w", number, translate(err))
	}
	first, found, err := x.Lookup(ctx, number)
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("index attestation number %s: %w: exists but cannot be read", number, eventstore.ErrUnavailable)
	}
	return first, nil
}

// Lookup returns the stream number was recorded for, and false if none.
func (x *AttestationIndex) Lookup(ctx context.Context, number string) (string, bool, error) {
	if !keyPattern.MatchString(number) {
		return "", false, fmt.Errorf("look up attestation number: invalid number %q", number)
	}
	e, err := x.kv.Get(ctx, number)
	if errors.Is(err, njs.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up attestation number %s: %w", number, translate(err))
	}
	return string(e.Value()), true, nil
}
