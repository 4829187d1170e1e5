package jetstream

import (
	"encoding/json"
	"time"
)

// decodeRecord decodes a message payload. Reading the whole log is bound
// by this, so payloads laid out exactly as encode writes them (fields in
// record's order, no escapes in the strings) take a fast path; anything
// else goes through encoding/json.
func decodeRecord(p []byte) (record, error) {
	if r, ok := decodeRecordFast(p); ok {
		return r, nil
	}
	var r record
	err := json.Unmarshal(p, &r)
	return r, err
}

// decodeRecordFast decodes what encode writes: compact JSON, fields in
// order, optional correlationId, causationId and provenance, data last. It gives up
// (false) at the first byte it does not expect.
func decodeRecordFast(p []byte) (r record, ok bool) {
	d := scanner{b: p}
	if !d.lit(`{"id":`) || !d.str(&r.ID) ||
		!d.lit(`,"type":`) || !d.str(&r.Type) ||
		!d.lit(`,"schemaVersion":`) || !d.int(&r.SchemaVersion) ||
		!d.lit(`,"occurredAt":`) {
		return record{}, false
	}
	var ts string
	if !d.str(&ts) {
		return record{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return record{}, false
	}
	r.OccurredAt = t
	if !d.lit(`,"actor":{"role":`) || !d.str(&r.Actor.Role) || !d.lit(`,"id":`) || !d.str(&r.Actor.ID) || !d.lit(`}`) {
		return record{}, false
	}
	if d.lit(`,"correlationId":`) && !d.str(&r.CorrelationID) {
		return record{}, false
	}
	if d.lit(`,"causationId":`) && !d.str(&r.CausationID) {
		return record{}, false
	}
	if d.lit(`,"provenance":`) && !d.str(&r.Provenance) {
		return record{}, false
	}
	if !d.lit(`,"data":`) {
		return record{}, false
	}
	start := d.i
	if !d.skipValue() {
		return record{}, false
	}
	r.Data = json.RawMessage(p[start:d.i:d.i])
	if !d.lit(`}`) || d.i != len(p) {
		return record{}, false
	}
	return r, true
}

type scanner struct {
	b []byte
	i int
}

// lit consumes s if the input continues with it.
func (d *scanner) lit(s string) bool {
	if len(d.b)-d.i < len(s) || string(d.b[d.i:d.i+len(s)]) != s {
		return false
	}
	d.i += len(s)
	return true
}

// str reads a string without escapes.
func (d *scanner) str(out *string) bool {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return false
	}
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			*out = string(d.b[d.i+1 : j])
			d.i = j + 1
			return true
		case c == '\\' || c < 0x20:
			return false
		}
	}
	return false
}

// int reads a small non-negative integer.
func (d *scanner) int(out *int) bool {
	n, j := 0, d.i
	for ; j < len(d.b) && d.b[j] >= '0' && d.b[j] <= '9' && j-d.i < 9; j++ {
		n = n*10 + int(d.b[j]-'0')
	}
	if j == d.i {
		return false
	}
	*out, d.i = n, j
	return true
}

// skipValue steps over one compact JSON value (an object, array, string or
// scalar) without checking it further: encode compacted and validated it.
func (d *scanner) skipValue() bool {
	if d.i >= len(d.b) {
		return false
	}
	switch d.b[d.i] {
	case '"':
		return d.skipString()
	case '{', '[':
		depth := 0
		for d.i < len(d.b) {
			switch d.b[d.i] {
			case '"':
				if !d.skipString() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					d.i++
					return true
				}
			}
			d.i++
		}
		return false
	default:
		j := d.i
		for j < len(d.b) && d.b[j] != ',' && d.b[j] != '}' && d.b[j] != ']' {
			j++
		}
		if j == d.i {
			return false
		}
		d.i = j
		return true
	}
}

func (d *scanner) skipString() bool {
	for j := d.i + 1; j < len(d.b); j++ {
		switch d.b[j] {
		case '\\':
			j++
		case '"':
			d.i = j + 1
			return true
		}
	}
	return false
}
