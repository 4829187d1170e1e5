package eventstore

import "errors"

// Sentinel errors of the port. Backends translate their own failures into
// these, wrapped with context; callers match them with errors.Is.
var (
	// ErrConcurrency: the stream was not at the expected version.
	ErrConcurrency = errors.New("eventstore: wrong expected version")
	// ErrInvalidStream: the stream name is not <category>-<id>.
	ErrInvalidStream = errors.New("eventstore: invalid stream name")
	// ErrInvalidEvent: an event lacks a required field.
	ErrInvalidEvent = errors.New("eventstore: invalid event")
	// ErrEventTooLarge: an encoded event exceeds MaxEventSize.
	ErrEventTooLarge = errors.New("eventstore: event too large")
	// ErrUnavailable: the store cannot be reached or did not answer.
	ErrUnavailable = errors.New("eventstore: store unavailable")
	// ErrClosed: the store or subscription was closed.
	ErrClosed = errors.New("eventstore: closed")
)
