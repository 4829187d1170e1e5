// Package eventstore is the port through which the ledger appends and reads
// its events. Events are the truth of the system: every backend must keep
// them durably (no acknowledgement before fsync or quorum), in one total
// order (the global position), and in per-stream order (the version), and
// must pass the contract suite in eventstore/storetest.
package eventstore

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// MaxEventSize is the largest encoded event (envelope and data) a backend
// must accept. Larger events are refused with ErrEventTooLarge.
const MaxEventSize = 256 * 1024

// Actor is who caused an event.
type Actor struct {
	Role string `json:"role"`
	ID   string `json:"id"`
}

// NewEvent is an event offered for appending. The store assigns its stream,
// version and position.
type NewEvent struct {
	// ID is required and unique across the whole log (a ULID or UUID). A
	// retried append with the same IDs stores nothing new.
	ID string
	// Type is required: the stable dotted wire name, e.g. "attestation.issued".
	//
	// WARNING: wire names are a persisted contract; never rename one.
	Type string
	// SchemaVersion is required, 1 or more.
	SchemaVersion int
	// OccurredAt is required; stored in UTC.
	OccurredAt time.Time
	// Actor is optional.
	Actor Actor
	// CorrelationID and CausationID are optional.
	CorrelationID string
	CausationID   string
	// Data is required: a JSON document. It is stored compacted
	// (insignificant white space removed, see encoding/json.Compact).
	Data json.RawMessage
	// Provenance is optional: the proof that the ledger's command side
	// wrote the event (internal/provenance), stored as it is.
	Provenance string
}

// Envelope is a recorded event, as read back from the store.
//
// WARNING: the JSON field names are a persisted and public contract
// (docs/API.md, the ledger entries); never rename one.
type Envelope struct {
	Position      uint64          `json:"position"`
	Stream        string          `json:"stream"`
	Version       uint64          `json:"version"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schemaVersion"`
	ID            string          `json:"id"`
	OccurredAt    time.Time       `json:"occurredAt"`
	Actor         Actor           `json:"actor"`
	CorrelationID string          `json:"correlationId"`
	CausationID   string          `json:"causationId"`
	Data          json.RawMessage `json:"data"`
	// Provenance is the command side's proof of the event (empty for
	// events written before provenance existed, or forged).
	Provenance string `json:"provenance,omitempty"`
}

// ExpectedVersion is the optimistic-concurrency condition of an append.
type ExpectedVersion struct {
	kind    expectKind
	version uint64
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectExact
)

// Any appends whatever the stream's current version.
func Any() ExpectedVersion { return ExpectedVersion{kind: expectAny} }

// NoStream appends only if the stream has no event yet.
func NoStream() ExpectedVersion { return ExpectedVersion{kind: expectNoStream} }

// Exact appends only if the stream's current version (the version of its
// last event, 0 for a stream with no event) is v.
func Exact(v uint64) ExpectedVersion {
	if v == 0 {
		return NoStream()
	}
	return ExpectedVersion{kind: expectExact, version: v}
}

// IsAny reports whether e places no condition.
func (e ExpectedVersion) IsAny() bool { return e.kind == expectAny }

// Version returns the version the stream must be at, and false for Any.
// NoStream is version 0.
func (e ExpectedVersion) Version() (uint64, bool) {
	switch e.kind {
	case expectNoStream:
		return 0, true
	case expectExact:
		return e.version, true
	default:
		return 0, false
	}
}

// Matches reports whether a stream currently at version current satisfies e.
func (e ExpectedVersion) Matches(current uint64) bool {
	v, ok := e.Version()
	return !ok || v == current
}

func (e ExpectedVersion) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectExact:
		return fmt.Sprintf("version %d", e.version)
	default:
		return "any version"
	}
}

// AppendResult tells where appended events were recorded.
type AppendResult struct {
	// Events are the recorded envelopes, in order.
	Events []Envelope
	// Version is the stream's version after the append.
	Version uint64
	// Position is the global position of the last appended event.
	Position uint64
}

// Store is an event store. Implementations are safe for concurrent use.
type Store interface {
	// Append records events (1 to MaxAppendEvents) at the end of stream,
	// atomically (all or none), once the stream is at the expected
	// version; it returns only once the events are durable. A stale
	// expectation fails with ErrConcurrency and records nothing. Appending
	// events whose IDs are all already recorded in the same stream, in
	// the same order, stores nothing and returns the original result (a
	// retry); an append reusing an ID recorded by another append fails
	// with ErrInvalidEvent. Backends may bound how long they recognise a
	// retry of an append that states no expected version (Any), or the
	// reuse of an ID; see each backend's documentation.
	Append(ctx context.Context, stream string, expected ExpectedVersion, events ...NewEvent) (AppendResult, error)
	// ReadStream returns the events of stream with version ≥ from, oldest
	// first; an unknown stream has no events (and no error).
	ReadStream(ctx context.Context, stream string, from uint64) ([]Envelope, error)
	// ReadAll returns at most limit events of the global log with
	// position ≥ from, in order; a limit of 0 or less returns none.
	ReadAll(ctx context.Context, from uint64, limit int) ([]Envelope, error)
	// Subscribe delivers every event with position ≥ from, in order,
	// without gaps or duplicates, then waits for new ones. To resume after
	// an event, subscribe from its position + 1.
	Subscribe(ctx context.Context, from uint64) (Subscription, error)
	// Head returns the position of the last recorded event (0 when empty).
	Head(ctx context.Context) (uint64, error)
	// Close releases the store's resources.
	Close() error
}

// Subscription is an ordered feed of the global log.
type Subscription interface {
	// Next blocks until the next event or until ctx is done.
	Next(ctx context.Context) (Envelope, error)
	// Close ends the subscription.
	Close() error
}

var streamName = regexp.MustCompile(`^[a-z][a-z0-9_]*-[A-Za-z0-9_-]{1,128}$`)

// ValidateStream checks that a stream name has the form <category>-<id>,
// e.g. "company-732829320", with a lower-case category and an id of
// letters, digits, '_' and '-'.
func ValidateStream(stream string) error {
	if !streamName.MatchString(stream) {
		return fmt.Errorf("%w: %q is not <category>-<id>", ErrInvalidStream, stream)
	}
	return nil
}

// SplitStream returns a valid stream name's category and id.
func SplitStream(stream string) (category, id string) {
	category, id, _ = strings.Cut(stream, "-")
	return category, id
}

// Stream returns the stream name of an aggregate.
func Stream(category, id string) string { return category + "-" + id }
