package integrity

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

func TestEntryIsCanonical(t *testing.T) {
	paris := time.FixedZone("CEST", 2*3600)
	env := eventstore.Envelope{
		Position: 42, Stream: "company-732829320", Version: 3, Type: "attestation.issued", SchemaVersion: 1,
		ID: "01HXYZ", OccurredAt: time.Date(2020, 4, 1, 11, 30, 0, 123456789, paris),
		Actor: eventstore.Actor{Role: "bank", ID: "b1"}, CorrelationID: "c", CausationID: "d",
		Data: json.RawMessage("{ \"b\" : [1, 2],\n \"a\": \"<&>\" }"),
	}
	got, err := Entry(env)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"position":42,"stream":"company-732829320","version":3,"type":"attestation.issued","schemaVersion":1,"id":"01HXYZ",` +
		`"occurredAt":"2020-04-01T09:30:00.123456789Z","actor":{"role":"bank","id":"b1"},"correlationId":"c","causationId":"d",` +
		`"data":{"b":[1,2],"a":"<&>"}}`
	if string(got) != want {
		t.Fatalf("Entry:\n got %s\nwant %s", got, want)
	}
	back, err := ParseEntry(got)
	if err != nil {
		t.Fatal(err)
	}
	if !back.OccurredAt.Equal(env.OccurredAt) || back.OccurredAt.Location() != time.UTC || back.Position != 42 {
		t.Fatalf("ParseEntry: %+v", back)
	}
	again, err := Entry(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, got) {
		t.Fatalf("Entry(ParseEntry(e)) = %s, want %s", again, got)
	}
	// The same event in another zone has the same entry.
	env.OccurredAt = env.OccurredAt.UTC()
	env.Data = json.RawMessage(`{"b":[1,2],"a":"<&>"}`)
	if utc, _ := Entry(env); !bytes.Equal(utc, got) {
		t.Fatalf("entry depends on the zone or the data's spacing: %s", utc)
	}
}

func TestEntryRefusesInvalidData(t *testing.T) {
	if _, err := Entry(eventstore.Envelope{Position: 1, Data: json.RawMessage("{")}); err == nil {
		t.Fatal("Entry accepted invalid JSON data")
	}
}

func TestParseEntryIsStrict(t *testing.T) {
	for _, in := range []string{
		``, `{`, `{"position":1} {}`, `{"position":1,"extra":true}`, `[]`,
	} {
		if _, err := ParseEntry([]byte(in)); err == nil {
			t.Errorf("ParseEntry(%q) accepted", in)
		}
	}
	if _, err := ParseEntry([]byte(`{"position":1,"data":{}}`)); err != nil {
		t.Errorf("ParseEntry: %v", err)
	}
	if strings.Contains(string(mustEntry(t, eventstore.Envelope{Position: 1, Data: json.RawMessage(`{}`)})), "\n") {
		t.Error("entry contains a newline")
	}
}

func mustEntry(t *testing.T, env eventstore.Envelope) []byte {
	t.Helper()
	e, err := Entry(env)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
