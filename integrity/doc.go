// Package integrity makes the ledger's global log verifiable: every event is
// a leaf of an RFC 6962 Merkle tree (leaf hash SHA-256(0x00 ‖ entry), node
// hash SHA-256(0x01 ‖ left ‖ right)), leaf index = position − 1, and the
// tree's roots are published as signed C2SP tlog-checkpoint notes.
//
// The pieces, one per file:
//
//   - entry.go: the canonical bytes of an event (its entry), the leaf data.
//   - tree.go: the tree's stored hashes on disk (golang.org/x/mod/sumdb/tlog
//     storage order), appended to incrementally, crash-safe, rebuildable.
//   - checkpoint.go, key.go: the checkpoint format and the Ed25519 note key.
//   - store.go, checkpoints.go: where checkpoints are published, the
//     CheckpointStore port, and its single-instance implementation, an
//     append-only local file (package jscheckpoints shares one list between
//     the instances of a deployment through their JetStream cluster).
//   - log.go, follow.go, publish.go, list.go: Log, which ties them together
//     and follows the event store (Run, or Consumer on a follower shared
//     with the read models), publishing a consistency-checked checkpoint at
//     most every Config.CheckpointInterval while the log grows (with a
//     shared store, only while it holds the publisher lease), and keeping
//     the list of published checkpoints in memory.
//   - share.go: with a shared store, following what the other instances
//     publish, renewing the lease, and waiting for a lagging tree before a
//     proof against a checkpoint another instance published.
//   - proof.go: inclusion and consistency proofs for the HTTP API.
//   - startup.go: the start-up check of the event store against the log.
//   - seed.go: a single instance joining a shared store carries its local
//     checkpoints over.
//   - export.go, verify.go: the offline audit: Export writes the entries and
//     checkpoints, Verify checks them with only the verifier key.
//   - audit.go: the self-audit of the stored tree against the log.
//
// All hashing and proof logic is golang.org/x/mod/sumdb/tlog's; all
// signing is golang.org/x/mod/sumdb/note's. Anyone can check the results
// with those packages or with github.com/transparency-dev/merkle.
package integrity
