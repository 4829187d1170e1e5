package queries

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/access"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// AttestationProof is the body of GET /v1/attestations/{number}/proof.
//
// WARNING: the JSON names are the public contract of docs/API.md.
type AttestationProof struct {
	// Entry is the issuing event's entry, the leaf's exact bytes.
	Entry string `json:"entry"`
	// Index is the leaf index (position − 1).
	Index int64 `json:"index"`
	// Checkpoint is the signed checkpoint note the proof is against.
	Checkpoint string `json:"checkpoint"`
	// Hashes is the inclusion proof.
	Hashes []tlog.Hash `json:"hashes"`
}

// AttestationProof assembles the proof that an attestation was issued: its
// issuing event's entry, a signed checkpoint covering it (waiting a little
// for one) and the inclusion proof against that checkpoint.
func (s *Service) AttestationProof(ctx context.Context, who domain.Actor, n domain.AttestationNumber) (AttestationProof, error) {
	if err := access.CheckRole(who, access.ProveAttestation); err != nil {
		return AttestationProof{}, err
	}
	v, err := findFresh(ctx, s, func(ctx context.Context) (views.AttestationView, error) {
		return s.rm.Attestation(ctx, n.String())
	})
	if err != nil {
		return AttestationProof{}, err
	}
	if err := access.CheckOwned(who, access.ProveAttestation, v.SIREN, v.BankCode); err != nil {
		return AttestationProof{}, err
	}
	siren, err := domain.ParseSIREN(v.SIREN)
	if err != nil {
		return AttestationProof{}, err
	}
	envs, events, err := s.companyEvents(ctx, siren)
	if err != nil {
		return AttestationProof{}, err
	}
	for i, env := range envs {
		if iss, ok := events[i].(domain.AttestationIssued); !ok || iss.Number != n {
			continue
		}
		entry, err := integrity.Entry(env)
		if err != nil {
			return AttestationProof{}, err
		}
		wctx, cancel := context.WithTimeout(ctx, s.cfg.ProofWait)
		defer cancel()
		cp, err := s.ledger.WaitCheckpoint(wctx, int64(env.Position))
		if err != nil {
			return AttestationProof{}, fmt.Errorf("%w: no checkpoint covers position %d yet: %v", ErrNotCaughtUp, env.Position, err)
		}
		index := int64(env.Position) - 1
		proof, err := s.ledger.InclusionProof(ctx, index, cp.Size)
		if err != nil {
			return AttestationProof{}, err
		}
		return AttestationProof{Entry: string(entry), Index: index, Checkpoint: string(cp.Note), Hashes: proof.Hashes}, nil
	}
	return AttestationProof{}, fmt.Errorf("%w: attestation %s has no issuing event", domain.ErrNotFound, n)
}
