package eventstore

import "github.com/attestation-ledger/attestation-ledger/internal/errs"

// Sentinel errors of the port. Backends translate their own failures into
// these, wrapped with context; callers match them with errors.Is.
var (
	// ErrConcurrency: the stream was not at the expected version.
	ErrConcurrency = errs.New(errs.Conflict, "eventstore: wrong expected version")
	// ErrInvalidStream: the stream name is not <category>-<id>.
	ErrInvalidStream = errs.New(errs.Invalid, "eventstore: invalid stream name")
	// ErrInvalidEvent: an event lacks a required field.
	ErrInvalidEvent = errs.New(errs.Invalid, "eventstore: invalid event")
	// ErrEventTooLarge: an encoded event exceeds MaxEventSize.
	ErrEventTooLarge = errs.New(errs.Invalid, "eventstore: event too large")
	// ErrUnavailable: the store cannot be reached or did not answer.
	ErrUnavailable = errs.New(errs.Unavailable, "eventstore: store unavailable")
	// ErrClosed: the store or subscription was closed.
	ErrClosed = errs.New(errs.Unavailable, "eventstore: closed")
)

// ErrWrongStore: the store answering is not the one this process has been
// writing to (its stream was deleted, replaced by another, or set back):
// nothing is appended or delivered until the right one is back.
var ErrWrongStore = errs.New(errs.Unavailable, "eventstore: not the store this process was writing to")
