package provenance_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/provenance"
)

func key(id string, b byte) provenance.Key {
	return provenance.Key{ID: id, Secret: []byte(strings.Repeat(string(rune('a'+b)), 32))}
}

func signed(t *testing.T, k *provenance.Keyring) eventstore.Envelope {
	t.Helper()
	e := eventstore.NewEvent{
		ID: "idem-1", Type: "attestation.issued", SchemaVersion: 1,
		OccurredAt: time.Date(2020, 3, 27, 10, 0, 0, 123, time.FixedZone("Paris", 3600)),
		Actor:      eventstore.Actor{Role: "bank", ID: "30004"}, CorrelationID: "req-1", CausationID: "cmd-1",
		Data: json.RawMessage(`{"number":"PGE-X","amountCents":100}`),
	}
	k.Sign("company-732829320", 3, &e)
	if !strings.HasPrefix(e.Provenance, "hmac-sha256:k1:") {
		t.Fatalf("provenance %q", e.Provenance)
	}
	// As the store gives it back: time in UTC, positioned.
	return eventstore.Envelope{
		Position: 42, Stream: "company-732829320", Version: 3, Type: e.Type, SchemaVersion: 1, ID: e.ID,
		OccurredAt: e.OccurredAt.UTC(), Actor: e.Actor, CorrelationID: e.CorrelationID, CausationID: e.CausationID,
		Data: json.RawMessage(`{"number":"PGE-X","amountCents":100}`), Provenance: e.Provenance,
	}
}

func TestSignedEventsVerifyAndEveryChangeIsCaught(t *testing.T) {
	k, err := provenance.NewKeyring(key("k1", 1))
	if err != nil {
		t.Fatal(err)
	}
	env := signed(t, k)
	if err := k.Verify(env); err != nil {
		t.Fatalf("a signed event: %v", err)
	}
	changes := map[string]func(*eventstore.Envelope){
		"stream":      func(e *eventstore.Envelope) { e.Stream = "company-552100554" },
		"version":     func(e *eventstore.Envelope) { e.Version = 4 },
		"id":          func(e *eventstore.Envelope) { e.ID = "idem-2" },
		"type":        func(e *eventstore.Envelope) { e.Type = "attestation.cancelled" },
		"schema":      func(e *eventstore.Envelope) { e.SchemaVersion = 2 },
		"time":        func(e *eventstore.Envelope) { e.OccurredAt = e.OccurredAt.Add(time.Nanosecond) },
		"actor":       func(e *eventstore.Envelope) { e.Actor.ID = "30003" },
		"correlation": func(e *eventstore.Envelope) { e.CorrelationID = "req-2" },
		"causation":   func(e *eventstore.Envelope) { e.CausationID = "cmd-2" },
		"data": func(e *eventstore.Envelope) {
			e.Data = json.RawMessage(`{"number":"PGE-X","amountCents":900000000000}`)
		},
		"none":        func(e *eventstore.Envelope) { e.Provenance = "" },
		"scheme":      func(e *eventstore.Envelope) { e.Provenance = strings.Replace(e.Provenance, "hmac-sha256", "none", 1) },
		"unknown key": func(e *eventstore.Envelope) { e.Provenance = strings.Replace(e.Provenance, ":k1:", ":k9:", 1) },
	}
	for name, change := range changes {
		e := env
		e.Position = 100 + uint64(len(name))
		change(&e)
		if err := k.Verify(e); !errors.Is(err, provenance.ErrUntrusted) {
			t.Errorf("%s changed: %v, want ErrUntrusted", name, err)
		}
	}
	// The position is the store's, not part of what is proved.
	moved := env
	moved.Position = 7
	if err := k.Verify(moved); err != nil {
		t.Fatalf("another position: %v", err)
	}
}

func TestRotationAndLegacyAndTally(t *testing.T) {
	old, _ := provenance.NewKeyring(key("k1", 1))
	env := signed(t, old)
	cur, err := provenance.NewKeyring(key("k2", 2), key("k1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.Verify(env); err != nil {
		t.Fatalf("an event of the previous key: %v", err)
	}
	other, _ := provenance.NewKeyring(key("k1", 3)) // same id, other secret
	if err := other.Verify(env); err == nil {
		t.Fatal("verified with another secret")
	}

	var reported []uint64
	cur.OnUntrusted(func(e eventstore.Envelope, _ error) { reported = append(reported, e.Position) })
	cur.TrustUnsignedBefore(10)
	unsigned := eventstore.Envelope{Position: 9, Stream: "company-732829320", ID: "old"}
	if err := cur.Verify(unsigned); err != nil {
		t.Fatalf("an event from before provenance: %v", err)
	}
	unsigned.Position = 10
	for range 3 { // seen by several readers: reported once
		if err := cur.Verify(unsigned); !errors.Is(err, provenance.ErrUntrusted) {
			t.Fatalf("an unsigned event after the cut-off: %v", err)
		}
	}
	n, first := cur.Untrusted()
	if n != 1 || len(first) != 1 || first[0] != 10 || len(reported) != 1 {
		t.Fatalf("untrusted %d %v, reported %v", n, first, reported)
	}
}

func TestKeysAreChecked(t *testing.T) {
	if _, err := provenance.NewKeyring(provenance.Key{ID: "k1", Secret: []byte("short")}); err == nil {
		t.Error("a short secret was accepted")
	}
	if _, err := provenance.NewKeyring(provenance.Key{ID: "k:1", Secret: make([]byte, 32)}); err == nil {
		t.Error("a key id with ':' was accepted")
	}
}

func BenchmarkSignAndVerify(b *testing.B) {
	k, _ := provenance.NewKeyring(key("k1", 1))
	e := eventstore.NewEvent{ID: "idem-1", Type: "loan_request.submitted", SchemaVersion: 1, OccurredAt: time.Now(),
		Data: json.RawMessage(strings.Repeat(`{"a":"bcdefghij"},`, 30) + `{}`)}
	e.Data = json.RawMessage("[" + string(e.Data) + "]")
	for b.Loop() {
		k.Sign("company-732829320", 1, &e)
		env := eventstore.Envelope{Stream: "company-732829320", Version: 1, ID: e.ID, Type: e.Type, SchemaVersion: 1, OccurredAt: e.OccurredAt, Data: e.Data, Provenance: e.Provenance}
		if err := k.Verify(env); err != nil {
			b.Fatal(err)
		}
	}
}
