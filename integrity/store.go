package integrity

import (
	"context"
)

// StoredNote is one signed checkpoint note as a CheckpointStore keeps it.
type StoredNote struct {
	// Seq is its place in the list, from 1.
	Seq uint64
	// Size is the tree size the note signs, as stored beside it; the Log
	// trusts only the signed note.
	Size int64
	// Note is the signed note.
	Note []byte
}

// CheckpointStore is where the published signed checkpoints are kept: an
// append-only list, in order of increasing tree size. The default is a
// local file in Config.Dir (one instance); a deployment of several
// instances shares one list in its cluster, so that an auditor sees one
// history whichever instance answers. It must be safe for concurrent use.
type CheckpointStore interface {
	// Append adds note, signing a tree of size, after the note of
	// sequence after (0: as the first), and returns its sequence. It fails
	// with an error matching eventstore.ErrConcurrency if a note was
	// appended after that one already (another publisher was first).
	Append(ctx context.Context, after uint64, size int64, note []byte) (uint64, error)
	// Read returns at most limit notes from sequence from on, in order,
	// fewer (or none) at the end of the list.
	Read(ctx context.Context, from uint64, limit int) ([]StoredNote, error)
	// Wait returns when a note after sequence after may have been
	// appended (it may also return without news, after a while), or with
	// ctx's error once ctx is done.
	Wait(ctx context.Context, after uint64) error
}

// Lease is the right to publish checkpoints, held by one instance of a
// deployment at a time (see Config.Lease).
type Lease interface {
	// Acquire takes the lease if it is free or renews it if this instance
	// holds it, and reports whether this instance now holds it.
	Acquire(ctx context.Context) (held bool, token uint64, err error)
	// Release gives the lease up if this instance holds it.
	Release(ctx context.Context) error
}
