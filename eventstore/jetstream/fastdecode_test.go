package jetstream

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	base := eventstore.NewEvent{
		ID: "01J9", Type: "attestation.issued", SchemaVersion: 12, OccurredAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Actor: eventstore.Actor{Role: "bank", ID: "30004"}, CorrelationID: "c", CausationID: "d",
		Data: json.RawMessage(`{"a":[1,{"b":"}]\"{"}],"c":"é","d":null}`),
	}
	variants := map[string]func(e *eventstore.NewEvent){
		"full":               func(*eventstore.NewEvent) {},
		"no optional fields": func(e *eventstore.NewEvent) { e.CorrelationID, e.CausationID, e.Actor = "", "", eventstore.Actor{} },
		"only causation":     func(e *eventstore.NewEvent) { e.CorrelationID = "" },
		"string data":        func(e *eventstore.NewEvent) { e.Data = json.RawMessage(`"x\"y"`) },
		"number data":        func(e *eventstore.NewEvent) { e.Data = json.RawMessage(`-12.5e3`) },
		"array data":         func(e *eventstore.NewEvent) { e.Data = json.RawMessage(`[[],{},"]"]`) },
		"escaped type":       func(e *eventstore.NewEvent) { e.Type = `a"b` },
		"control in actor":   func(e *eventstore.NewEvent) { e.Actor.ID = "a\tb" },
		"unicode separator":  func(e *eventstore.NewEvent) { e.CorrelationID = "a\u2028b" },
		"html characters":    func(e *eventstore.NewEvent) { e.Type = "<a&b>" },
		"time with zone": func(e *eventstore.NewEvent) {
			e.OccurredAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
		},
		"large schema version": func(e *eventstore.NewEvent) { e.SchemaVersion = 1 << 40 },
	}
	for name, mutate := range variants {
		t.Run(name, func(t *testing.T) {
			e := base
			mutate(&e)
			enc, err := encode(e)
			if err != nil {
				t.Fatal(err)
			}
			var want record
			if err := json.Unmarshal(enc.payload, &want); err != nil {
				t.Fatal(err)
			}
			got, err := decodeRecord(enc.payload)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalise(got), normalise(want)) {
				t.Fatalf("payload %s\n got %+v\nwant %+v", enc.payload, got, want)
			}
		})
	}
	// Other layouts fall back to encoding/json.
	for _, p := range []string{
		`{"type":"x","id":"a","schemaVersion":1,"occurredAt":"2025-01-02T03:04:05Z","actor":{"role":"","id":""},"data":{}}`,
		`{"id":"a","type":"x","schemaVersion":1,"occurredAt":"2025-01-02T03:04:05Z","actor":{"role":"","id":""},"data":{},"extra":1}`,
		`{ "id": "a", "type": "x", "schemaVersion": 1, "occurredAt": "2025-01-02T03:04:05Z", "data": {} }`,
	} {
		if _, ok := decodeRecordFast([]byte(p)); ok {
			t.Errorf("fast path took %s", p)
		}
		got, err := decodeRecord([]byte(p))
		if err != nil || got.ID != "a" || got.Type != "x" || string(got.Data) != "{}" {
			t.Errorf("fallback on %s: %+v %v", p, got, err)
		}
	}
	for _, bad := range []string{``, `{`, `{"id":"a"`, `{"id":"a","type":"x","schemaVersion":1,"occurredAt":"nope","actor":{"role":"","id":""},"data":{}}`} {
		if _, err := decodeRecord([]byte(bad)); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
}

func normalise(r record) record {
	r.OccurredAt = r.OccurredAt.UTC()
	return r
}

func BenchmarkDecodeRecord(b *testing.B) {
	enc, _ := encode(eventstore.NewEvent{
		ID: "01J9Z3V7Q8K2M4N6P8R0T2V4X6", Type: "attestation.issued", SchemaVersion: 1, OccurredAt: time.Now(),
		Actor: eventstore.Actor{Role: "bank", ID: "30004"}, CorrelationID: "corr",
		Data: json.RawMessage(`{"siren":"732829320","bank":"30004","amount":"150000.00","currency":"EUR","guaranteeRate":"0.90","maturityMonths":72}`),
	})
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, ok := decodeRecordFast(enc.payload); !ok {
				b.Fatal("not fast")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var r record
			if err := json.Unmarshal(enc.payload, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
