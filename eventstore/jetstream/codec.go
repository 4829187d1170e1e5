package jetstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

const (
	// StreamName is the JetStream stream holding the ledger.
	//
	// WARNING: a persisted contract; never rename it.
	StreamName = "LEDGER"
	// subjectPrefix starts every event's subject: "ledger.<category>.<id>"
	// for the event store stream "<category>-<id>".
	//
	// WARNING: a persisted contract; never rename it.
	subjectPrefix = "ledger."
	// HeaderVersion is the message header holding an event's version in
	// its stream.
	//
	// WARNING: a persisted contract; never rename it.
	HeaderVersion = "Ledger-Version"

	headerMsgID          = "Nats-Msg-Id"
	headerExpectedSubSeq = "Nats-Expected-Last-Subject-Sequence"
	headerBatchID        = "Nats-Batch-Id"
	headerBatchSeq       = "Nats-Batch-Sequence"
	headerBatchCommit    = "Nats-Batch-Commit"
)

// Subject returns the NATS subject of an event store stream:
// "company-732829320" is "ledger.company.732829320". The stream must be
// valid (eventstore.ValidateStream).
func Subject(stream string) string {
	category, id := eventstore.SplitStream(stream)
	return subjectPrefix + category + "." + id
}

// streamOf is the inverse of Subject.
func streamOf(subject string) (string, error) {
	rest, ok := strings.CutPrefix(subject, subjectPrefix)
	category, id, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return "", fmt.Errorf("subject %q is not a ledger subject", subject)
	}
	return eventstore.Stream(category, id), nil
}

// record is the message payload of an event: the envelope less what the
// message itself carries (the position is the message's stream sequence,
// the stream its subject, the version the Ledger-Version header).
//
// WARNING: the JSON field names are a persisted contract; never rename one.
type record struct {
	ID            string           `json:"id"`
	Type          string           `json:"type"`
	SchemaVersion int              `json:"schemaVersion"`
	OccurredAt    time.Time        `json:"occurredAt"`
	Actor         eventstore.Actor `json:"actor"`
	CorrelationID string           `json:"correlationId,omitempty"`
	CausationID   string           `json:"causationId,omitempty"`
	Provenance    string           `json:"provenance,omitempty"`
	Data          json.RawMessage  `json:"data"`
}

// encoded is a validated event ready to publish.
type encoded struct {
	event   eventstore.NewEvent // with OccurredAt in UTC and Data compacted
	payload []byte
}

// encode compacts and encodes an event, refusing it when larger than
// eventstore.MaxEventSize.
func encode(e eventstore.NewEvent) (encoded, error) {
	var data bytes.Buffer
	data.Grow(len(e.Data))
	if err := json.Compact(&data, e.Data); err != nil {
		return encoded{}, fmt.Errorf("%w: event %s: %v", eventstore.ErrInvalidEvent, e.ID, err)
	}
	e.Data = data.Bytes()
	e.OccurredAt = e.OccurredAt.UTC()
	var buf bytes.Buffer
	buf.Grow(len(e.Data) + len(e.ID) + len(e.Type) + len(e.CorrelationID) + len(e.CausationID) + len(e.Provenance) + 192)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(record{
		ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion, OccurredAt: e.OccurredAt,
		Actor: e.Actor, CorrelationID: e.CorrelationID, CausationID: e.CausationID, Provenance: e.Provenance, Data: e.Data,
	})
	if err != nil {
		return encoded{}, fmt.Errorf("%w: event %s: %v", eventstore.ErrInvalidEvent, e.ID, err)
	}
	payload := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if n := len(payload) + len(HeaderVersion) + len(headerMsgID) + len(e.ID) + 24; n > eventstore.MaxEventSize {
		return encoded{}, fmt.Errorf("%w: event %s encodes to %d bytes, at most %d",
			eventstore.ErrEventTooLarge, e.ID, n, eventstore.MaxEventSize)
	}
	return encoded{event: e, payload: payload}, nil
}

// envelope returns the recorded envelope of an encoded event.
func (e *encoded) envelope(stream string, version, position uint64) eventstore.Envelope {
	return eventstore.Envelope{
		Position: position, Stream: stream, Version: version,
		Type: e.event.Type, SchemaVersion: e.event.SchemaVersion, ID: e.event.ID,
		OccurredAt: e.event.OccurredAt, Actor: e.event.Actor,
		CorrelationID: e.event.CorrelationID, CausationID: e.event.CausationID,
		Data: e.event.Data, Provenance: e.event.Provenance,
	}
}

// decode rebuilds an envelope from a stored message.
func decode(subject string, seq uint64, hdr nats.Header, payload []byte) (eventstore.Envelope, error) {
	stream, err := streamOf(subject)
	if err != nil {
		return eventstore.Envelope{}, fmt.Errorf("decode message %d: %w", seq, err)
	}
	version, err := strconv.ParseUint(hdr.Get(HeaderVersion), 10, 64)
	if err != nil {
		return eventstore.Envelope{}, fmt.Errorf("decode message %d: header %s: %w", seq, HeaderVersion, err)
	}
	r, err := decodeRecord(payload)
	if err != nil {
		return eventstore.Envelope{}, fmt.Errorf("decode message %d: %w", seq, err)
	}
	return eventstore.Envelope{
		Position: seq, Stream: stream, Version: version,
		Type: r.Type, SchemaVersion: r.SchemaVersion, ID: r.ID,
		OccurredAt: r.OccurredAt.UTC(), Actor: r.Actor,
		CorrelationID: r.CorrelationID, CausationID: r.CausationID, Data: r.Data, Provenance: r.Provenance,
	}, nil
}
