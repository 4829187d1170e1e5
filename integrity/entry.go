package integrity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Entry returns the canonical bytes of an event, the data of its leaf: the
// compact JSON of the envelope with its JSON field names (in declaration
// order, position first), the timestamp in UTC, the data compacted, no HTML
// escaping and no trailing newline. The same envelope always gives the same
// bytes, and ParseEntry(Entry(e)) gives e back (with a UTC timestamp).
//
// WARNING: these bytes are hashed into signed checkpoints and served as the
// lines of GET /v1/ledger/entries: a persisted, public contract. Never change
// the encoding.
func Entry(env eventstore.Envelope) ([]byte, error) {
	env.OccurredAt = env.OccurredAt.UTC()
	var buf bytes.Buffer
	buf.Grow(512 + len(env.Data) + len(env.ID) + len(env.Stream) + len(env.CorrelationID) + len(env.CausationID))
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil { // RawMessage data is compacted by the encoder
		return nil, fmt.Errorf("encode entry of position %d: %w", env.Position, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// ParseEntry decodes an entry made by Entry. It refuses unknown fields and
// anything after the JSON object.
func ParseEntry(entry []byte) (eventstore.Envelope, error) {
	var env eventstore.Envelope
	dec := json.NewDecoder(bytes.NewReader(entry))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return eventstore.Envelope{}, fmt.Errorf("parse entry: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return eventstore.Envelope{}, fmt.Errorf("parse entry: data after the object")
	}
	return env, nil
}

// LeafHash returns the RFC 6962 leaf hash of an entry, SHA-256(0x00 ‖ entry).
func LeafHash(entry []byte) tlog.Hash { return tlog.RecordHash(entry) }
