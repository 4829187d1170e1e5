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
//   - checkpoint.go, key.go, checkpoints.go: the checkpoint format, the
//     Ed25519 note key and the append-only file of every signed checkpoint.
//   - log.go, follow.go: Log, which ties them together and follows the
//     event store (Run, or Consumer on a follower shared with the read
//     models), publishing a consistency-checked checkpoint at most every
//     Config.CheckpointInterval while the log grows.
//   - proof.go: inclusion and consistency proofs for the HTTP API.
//   - export.go, verify.go: the offline audit: Export writes the entries and
//     checkpoints, Verify checks them with only the verifier key.
//   - audit.go: the self-audit of the stored tree against the log.
//
// All hashing and proof logic is golang.org/x/mod/sumdb/tlog's; all
// signing is golang.org/x/mod/sumdb/note's. Anyone can check the results
// with those packages or with github.com/transparency-dev/merkle.
package integrity
