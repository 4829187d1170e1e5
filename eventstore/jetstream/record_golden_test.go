package jetstream

// Golden files freeze what the store writes into JetStream: the payload of
// an event's message (record), its subject and its Ledger-Version header.
// The stream is the system's truth and is never rewritten, so a renamed
// record field or a changed subject would leave every stored event
// unreadable. Each golden under testdata/ is checked both ways: encode
// gives its bytes exactly, and decoding them, on the fast path that reads
// the whole log, gives the event back.
//
// To rewrite the goldens after a deliberate change (never of a format in
// use), run
//
//	go test ./eventstore/jetstream -run TestGoldenRecords -update
//
// and review the diff. CI must never pass -update.

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

var updateGoldens = flag.Bool("update", false, "rewrite the golden files of the wire formats from the test values (never in CI)")

func TestGoldenRecords(t *testing.T) {
	const stream = "company-732829320"
	for _, c := range []struct {
		file  string
		event eventstore.NewEvent
	}{
		{"record.v1.json", eventstore.NewEvent{
			ID: "01HZ8Q6W3M0Q4E2A9B7C5D3F1G", Type: "loan_request.submitted", SchemaVersion: 1,
			OccurredAt:    time.Date(2020, 4, 2, 9, 14, 7, 123456789, time.UTC),
			Actor:         eventstore.Actor{Role: "bank", ID: "30004"},
			CorrelationID: "01HZ8Q6VZ5XK3R1T9N7M5P3B2A", CausationID: "idem:bnp-2020-04-02-000173",
			Data: json.RawMessage(`{"requestId":"01HZ8Q6W3KJ5V2N9D4T7XG0BRM","siren":"732829320","bankCode":"30004",` +
				`"amountCents":45000000,"requestedOn":"2020-04-02","company":{"name":"Boulangerie Dupont \u0026 Fils"}}`),
		}},
		// With the provenance the command side writes since events carry it.
		{"record.v1.provenance.json", eventstore.NewEvent{
			ID: "01HZ8Q6W3M0Q4E2A9B7C5D3F1H", Type: "attestation.issued", SchemaVersion: 1,
			OccurredAt:    time.Date(2020, 4, 2, 9, 14, 7, 123456789, time.UTC),
			Actor:         eventstore.Actor{Role: "bank", ID: "30004"},
			CorrelationID: "01HZ8Q6VZ5XK3R1T9N7M5P3B2A", CausationID: "idem:bnp-2020-04-02-000173",
			Provenance: "hmac-sha256:k7Q2:3N0c2hhLXNpZ25lZC1ieS10aGUtY29tbWFuZC1zaWRl",
			Data:       json.RawMessage(`{"number":"PGE-7M29-XPJ3-S5DV-CQ11","amountCents":45000000}`),
		}},
		// Without the optional correlation and causation ids, which are
		// then left out.
		{"record.v1.minimal.json", eventstore.NewEvent{
			ID: "01HZ9C2D4E6F8G0H2J4K6M8N0P", Type: "attestation.cancelled", SchemaVersion: 1,
			OccurredAt: time.Date(2020, 4, 10, 14, 21, 9, 0, time.UTC),
			Data:       json.RawMessage(`{"number":"PGE-7M29-XPJ3-S5DV-CQ11","reason":"no longer needed"}`),
		}},
	} {
		t.Run(c.file, func(t *testing.T) {
			file := filepath.Join("testdata", c.file)
			enc, err := encode(c.event)
			if err != nil {
				t.Fatal(err)
			}
			if *updateGoldens {
				if err := os.WriteFile(file, enc.payload, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc.payload, golden) {
				t.Errorf("the stored payload changed (it is frozen):\n got %s\nwant %s", enc.payload, golden)
			}
			if _, ok := decodeRecordFast(golden); !ok {
				t.Error("the golden payload is not read on the fast path")
			}
			subject := Subject(stream)
			if subject != "ledger.company.732829320" {
				t.Errorf("subject of %s: %s", stream, subject)
			}
			env, err := decode(subject, 42, nats.Header{"Ledger-Version": []string{"12"}}, golden)
			if err != nil {
				t.Fatalf("the golden no longer decodes: %v", err)
			}
			e := c.event
			want := eventstore.Envelope{
				Position: 42, Stream: stream, Version: 12, Type: e.Type, SchemaVersion: e.SchemaVersion, ID: e.ID,
				OccurredAt: e.OccurredAt, Actor: e.Actor, CorrelationID: e.CorrelationID, CausationID: e.CausationID, Data: e.Data,
				Provenance: e.Provenance,
			}
			if !reflect.DeepEqual(env, want) {
				t.Errorf("decoding the golden gave\n %+v\nwant\n %+v", env, want)
			}
		})
	}
}
