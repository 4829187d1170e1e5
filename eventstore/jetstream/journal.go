package jetstream

import (
	njs "github.com/nats-io/nats.go/jetstream"
)

// JetStream returns the store's JetStream context, for the deployment's
// streams that are not the ledger (the security journal, package
// journal). They share the store's connection, credentials and replicas.
func (s *Store) JetStream() njs.JetStream { return s.js }

// Replicas returns the ledger stream's replica count, which every stream
// and bucket of the deployment shares.
func (s *Store) Replicas() int { return s.replicas() }
