package integrity

import (
	"errors"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Sentinel errors of the package, wrapped with context; match them with
// errors.Is.
var (
	// ErrOutOfOrder: an event is not the next leaf of the tree (its
	// position is not the tree size + 1): the log has a gap or a duplicate.
	ErrOutOfOrder = errors.New("integrity: event is not the next leaf")
	// ErrInconsistent: the tree does not extend the latest signed
	// checkpoint, so no new checkpoint may be published; or a checkpoint
	// published by another instance contradicts the tree. The log or the
	// tree was rewritten: an integrity alarm.
	ErrInconsistent = errors.New("integrity: tree inconsistent with a signed checkpoint")
	// ErrMismatch: entries do not reproduce a trusted checkpoint
	// (see Mismatch for where).
	ErrMismatch = errors.New("integrity: entries do not match the checkpoint")
	// ErrBadCheckpoint: a checkpoint is malformed, or not signed by the
	// expected key.
	ErrBadCheckpoint = errs.New(errs.Invalid, "integrity: bad checkpoint")
	// ErrBadRequest: a proof was asked for indexes or sizes the tree
	// cannot answer (out of range, or beyond the tree).
	ErrBadRequest = errs.New(errs.Invalid, "integrity: bad proof request")
	// ErrAudit: the self-audit found the stored tree, the log and the
	// checkpoints disagreeing.
	ErrAudit = errors.New("integrity: self-audit failed")
	// ErrNoCheckpoint: no checkpoint of the asked size was published.
	ErrNoCheckpoint = errs.New(errs.NotFound, "integrity: no such checkpoint")
	// ErrClosed: the Log was closed.
	ErrClosed = errs.New(errs.Unavailable, "integrity: closed")
	// ErrTreeBehind: a proof against a published checkpoint was asked of
	// an instance whose tree has not reached it yet, and did not in time.
	ErrTreeBehind = errs.New(errs.Unavailable, "integrity: the tree has not reached the checkpoint yet")
	// ErrStoreMismatch: at start, the event store does not hold the events
	// the verifiable log signed (it was emptied, or replaced): it must not
	// be served.
	ErrStoreMismatch = errs.New(errs.Internal, "integrity: the event store does not match the verifiable log")
)
