package jetstream

import "context"

// AttestationsBucket is the JetStream key-value bucket of the attestation
// index: attestation number → the stream of the company it was issued to.
//
// WARNING: persisted; never rename it.
const AttestationsBucket = "LEDGER_ATTESTATIONS"

// AttestationIndex returns the register of attestation numbers, creating
// its bucket if needed. The command side claims a number for its company's
// stream before the append that issues it, so that every acknowledged
// attestation is indexed and its company is found without a read model; a
// number claimed by another stream first is taken, and a new one is drawn.
// A claimed number whose request ended without an attestation points to a
// stream that does not hold it, which loading that stream tells.
func (s *Store) AttestationIndex(ctx context.Context) (*Register, error) {
	return s.openRegister(ctx, AttestationsBucket, "attestation number", "attestation ledger: the company stream each attestation number was issued on")
}
