// Package jscheckpoints shares the verifiable log's checkpoints between
// the instances of a deployment through their JetStream cluster: it adapts
// jetstream.Checkpoints (a replicated stream that denies delete and purge,
// with fenced appends) to integrity.CheckpointStore, and opens the
// publisher lease. It keeps package integrity free of any JetStream
// dependency.
package jscheckpoints

import (
	"context"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/integrity"
)

// LeaseName names the checkpoint publisher lease in the leases bucket.
//
// WARNING: persisted; never rename it.
const LeaseName = "checkpoint-publisher"

// DefaultPoll is how often Wait looks at the list even without a wake-up.
const DefaultPoll = 2 * time.Second

// Store is the shared list of checkpoints as an integrity.CheckpointStore.
type Store struct {
	c    *jetstream.Checkpoints
	poll time.Duration
}

var _ integrity.CheckpointStore = (*Store)(nil)

// Open opens the shared list of checkpoints of the store's cluster.
func Open(ctx context.Context, s *jetstream.Store) (*Store, error) {
	c, err := s.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	return &Store{c: c, poll: DefaultPoll}, nil
}

// Append implements integrity.CheckpointStore; a publication refused
// because another came first matches eventstore.ErrConcurrency.
func (s *Store) Append(ctx context.Context, after uint64, size int64, note []byte) (uint64, error) {
	return s.c.Append(ctx, after, size, note)
}

// Read implements integrity.CheckpointStore.
func (s *Store) Read(ctx context.Context, from uint64, limit int) ([]integrity.StoredNote, error) {
	got, err := s.c.Read(ctx, from, limit)
	out := make([]integrity.StoredNote, len(got))
	for i, c := range got {
		out[i] = integrity.StoredNote{Seq: c.Seq, Size: c.Size, Note: c.Note}
	}
	return out, err
}

// Wait implements integrity.CheckpointStore.
func (s *Store) Wait(ctx context.Context, after uint64) error {
	return s.c.Wait(ctx, after, s.poll)
}

// Lease opens the checkpoint publisher lease for holder, a name unique to
// this instance; ttl must be the same for every instance.
func Lease(ctx context.Context, s *jetstream.Store, holder string, ttl time.Duration) (*jetstream.Lease, error) {
	l, err := s.Lease(ctx, LeaseName, holder, ttl)
	if err != nil {
		return nil, fmt.Errorf("open the checkpoint publisher lease: %w", err)
	}
	return l, nil
}

// JournalLeaseName names the security journal's checkpoint publisher
// lease in the leases bucket.
//
// WARNING: persisted; never rename it.
const JournalLeaseName = "journal-checkpoint-publisher"

// OpenJournal opens the shared list of the security journal's
// checkpoints (package journal) of the store's cluster.
func OpenJournal(ctx context.Context, s *jetstream.Store) (*Store, error) {
	c, err := s.JournalCheckpoints(ctx)
	if err != nil {
		return nil, err
	}
	return &Store{c: c, poll: DefaultPoll}, nil
}

// JournalLease opens the security journal's checkpoint publisher lease
// for holder; ttl must be the same for every instance.
func JournalLease(ctx context.Context, s *jetstream.Store, holder string, ttl time.Duration) (*jetstream.Lease, error) {
	l, err := s.Lease(ctx, JournalLeaseName, holder, ttl)
	if err != nil {
		return nil, fmt.Errorf("open the journal's checkpoint publisher lease: %w", err)
	}
	return l, nil
}
