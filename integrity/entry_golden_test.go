package integrity

// Golden files freeze the ledger entry format: the bytes Entry makes of an
// eventstore.Envelope are the leaves of the Merkle log, hashed into signed
// checkpoints and served as the lines of GET /v1/ledger/entries. A renamed
// envelope field, a reordered one or a changed timestamp layout would break
// every checkpoint already signed and every proof already handed out, so
// each golden under testdata/ is checked both ways: parsing its bytes gives
// the envelope of its case below, and encoding that envelope gives its bytes
// exactly.
//
// An entry is eventstore.Envelope encoded with its JSON names (less HTML
// escaping, with a UTC timestamp): these goldens freeze those names too.
//
// To rewrite the goldens after a deliberate change (never of a format in
// use: these bytes are signed), run
//
//	go test ./integrity -run TestGolden -update
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

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

var updateGoldens = flag.Bool("update", false, "rewrite the golden files of the wire formats from the test values (never in CI)")

// goldenEnvelope is a fully populated, realistic recorded event: the
// loan_request.submitted of domain/testdata/events as the store reads it back.
func goldenEnvelope() eventstore.Envelope {
	return eventstore.Envelope{
		Position: 1_048_577, Stream: "company-732829320", Version: 12,
		Type: "loan_request.submitted", SchemaVersion: 1, ID: "01HZ8Q6W3M0Q4E2A9B7C5D3F1G",
		OccurredAt:    time.Date(2020, 4, 2, 9, 14, 7, 123456789, time.UTC),
		Actor:         eventstore.Actor{Role: "bank", ID: "30004"},
		CorrelationID: "01HZ8Q6VZ5XK3R1T9N7M5P3B2A", CausationID: "idem:bnp-2020-04-02-000173",
		Data: json.RawMessage(`{"requestId":"01HZ8Q6W3KJ5V2N9D4T7XG0BRM","siren":"732829320","bankCode":"30004","amountCents":45000000,` +
			`"requestedOn":"2020-04-02","company":{"name":"Boulangerie Dupont \u0026 Fils \u003cLyon\u003e","legalForm":"SARL",` +
			`"nafCode":"10.71C","regionCode":"84","headcount":42,"turnoverCents":320000000,"balanceSheetCents":185000000,` +
			`"payrollCents":110000000,"createdOn":"1987-06-15","innovative":true,` +
			`"collectiveProceeding":{"kind":"safeguard","openedOn":"2019-11-04"}},"submittedBy":{"role":"bank","id":"30004"},` +
			`"submittedAt":"2020-04-02T09:14:07.123456789Z"}`),
	}
}

// minimalEnvelope has the optional fields (actor, correlation and
// causation ids) unset.
func minimalEnvelope() eventstore.Envelope {
	return eventstore.Envelope{
		Position: 1, Stream: "company-356000000", Version: 1,
		Type: "attestation.cancelled", SchemaVersion: 1, ID: "01HZ9C2D4E6F8G0H2J4K6M8N0P",
		OccurredAt: time.Date(2020, 4, 10, 14, 21, 9, 0, time.UTC),
		Data:       json.RawMessage(`{"number":"PGE-7M29-XPJ3-S5DV-CQ11","reason":"","cancelledBy":{"role":"company","id":"356000000"},"cancelledAt":"2020-04-10T14:21:09Z"}`),
	}
}

// provenanceEnvelope is goldenEnvelope as the command side writes it since
// events carry provenance.
func provenanceEnvelope() eventstore.Envelope {
	e := goldenEnvelope()
	e.Provenance = "hmac-sha256:k7Q2:3N0c2hhLXNpZ25lZC1ieS10aGUtY29tbWFuZC1zaWRlLW9mLWxlZGdlcg"
	return e
}

func TestGoldenEntries(t *testing.T) {
	for _, c := range []struct {
		file string
		env  eventstore.Envelope
	}{
		{"entry.v1.json", goldenEnvelope()},
		{"entry.v1.minimal.json", minimalEnvelope()},
		{"entry.v1.provenance.json", provenanceEnvelope()},
	} {
		t.Run(c.file, func(t *testing.T) {
			file := filepath.Join("testdata", c.file)
			encoded, err := Entry(c.env)
			if err != nil {
				t.Fatal(err)
			}
			if *updateGoldens {
				if err := os.WriteFile(file, encoded, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(encoded, golden) {
				t.Errorf("the encoding changed (these bytes are frozen):\n got %s\nwant %s", encoded, golden)
			}
			decoded, err := ParseEntry(golden)
			if err != nil {
				t.Fatalf("the golden no longer decodes: %v", err)
			}
			if !reflect.DeepEqual(decoded, c.env) {
				t.Errorf("decoding the golden gave\n %+v\nwant\n %+v", decoded, c.env)
			}
		})
	}
}

// TestGoldenEntryIsCanonical checks that an envelope read back in another
// time zone, or with data not yet compacted, still gives the golden leaf.
func TestGoldenEntryIsCanonical(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "entry.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	env := goldenEnvelope()
	env.OccurredAt = env.OccurredAt.In(time.FixedZone("CEST", 2*3600))
	var indented bytes.Buffer
	if err := json.Indent(&indented, env.Data, "", "  "); err != nil {
		t.Fatal(err)
	}
	env.Data = indented.Bytes()
	got, err := Entry(env)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, golden) {
		t.Errorf("Entry of the same event in CEST with indented data:\n got %s\nwant %s", got, golden)
	}
}
