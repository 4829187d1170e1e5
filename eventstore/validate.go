package eventstore

import (
	"encoding/json"
	"fmt"
)

// MaxAppendEvents is the largest number of events one Append may carry.
// Larger appends are refused with ErrInvalidEvent: an append is atomic, and
// backends bound the size of what they commit atomically.
const MaxAppendEvents = 100

// ValidateAppend checks an append's stream name and events before a backend
// encodes them: a valid stream, 1 to MaxAppendEvents events, every required
// field set, Data a JSON document, and no event ID twice. It does not check
// sizes, which depend on the backend's encoding (see MaxEventSize).
func ValidateAppend(stream string, events []NewEvent) error {
	if err := ValidateStream(stream); err != nil {
		return err
	}
	if len(events) == 0 {
		return fmt.Errorf("%w: no events", ErrInvalidEvent)
	}
	if len(events) > MaxAppendEvents {
		return fmt.Errorf("%w: %d events in one append, at most %d", ErrInvalidEvent, len(events), MaxAppendEvents)
	}
	seen := make(map[string]struct{}, len(events))
	for i := range events {
		if err := ValidateEvent(&events[i]); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		if _, dup := seen[events[i].ID]; dup {
			return fmt.Errorf("%w: event id %q appears twice", ErrInvalidEvent, events[i].ID)
		}
		seen[events[i].ID] = struct{}{}
	}
	return nil
}

// ValidateEvent checks that an event has its required fields and that its
// Data is a JSON document.
func ValidateEvent(e *NewEvent) error {
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: missing id", ErrInvalidEvent)
	case len(e.ID) > 128:
		return fmt.Errorf("%w: id longer than 128 bytes", ErrInvalidEvent)
	case e.Type == "":
		return fmt.Errorf("%w: event %s: missing type", ErrInvalidEvent, e.ID)
	case e.SchemaVersion < 1:
		return fmt.Errorf("%w: event %s: schema version %d, want 1 or more", ErrInvalidEvent, e.ID, e.SchemaVersion)
	case e.OccurredAt.IsZero():
		return fmt.Errorf("%w: event %s: missing occurredAt", ErrInvalidEvent, e.ID)
	case len(e.Data) == 0:
		return fmt.Errorf("%w: event %s: missing data", ErrInvalidEvent, e.ID)
	case len(e.Data) > MaxEventSize:
		return fmt.Errorf("%w: event %s: data of %d bytes, at most %d", ErrEventTooLarge, e.ID, len(e.Data), MaxEventSize)
	case !json.Valid(e.Data):
		return fmt.Errorf("%w: event %s: data is not a JSON document", ErrInvalidEvent, e.ID)
	}
	for i := 0; i < len(e.ID); i++ {
		if c := e.ID[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%w: event id %q has a space or control character", ErrInvalidEvent, e.ID)
		}
	}
	return nil
}
