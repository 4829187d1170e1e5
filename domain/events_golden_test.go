package domain

// Golden files freeze the wire format of every recorded event: the exact
// bytes EncodeEvent writes into the event store, for each event type and
// schema version. Recorded events are never rewritten, so a renamed JSON
// field, a changed date layout or a dropped omitempty would make the events
// already stored undecodable (or decode them into zero values): such a
// change must fail here, and be made as a new schema version with an
// upcaster in DecodeEvent, never in place.
//
// A golden is named <wire type>.v<schema version>[.<variant>].json, under
// testdata/events/. Each is checked both ways: decoding its bytes gives the
// Go value of its case below, and encoding that value gives its bytes
// exactly. A golden of an older schema version (once a v2 exists) is only
// decoded: encoding always writes the current version.
//
// To rewrite the goldens after a deliberate change of the wire format (a
// new event type or schema version, never a rename), run
//
//	go test ./domain -run TestEventGolden -update
//
// and review the diff. CI must never pass -update: it would accept any
// change of the format silently.

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

var updateGoldens = flag.Bool("update", false, "rewrite the golden files of the wire formats from the test values (never in CI)")

// goldenEventsDir holds one golden per event type, schema version and variant.
const goldenEventsDir = "testdata/events"

// eventGolden is a golden file and the Go value it holds.
type eventGolden struct {
	// variant distinguishes several goldens of one type and version (e.g.
	// "minimal": the optional fields unset); empty for the main one, which
	// sets every optional field.
	variant string
	// version is the schema version of the golden's bytes; 0 means the
	// event's current version.
	version int
	event   Event
}

func (g eventGolden) schemaVersion() int {
	if g.version != 0 {
		return g.version
	}
	return g.event.EventSchemaVersion()
}

func (g eventGolden) file() string {
	name := g.event.EventType() + ".v" + strconv.Itoa(g.schemaVersion())
	if g.variant != "" {
		name += "." + g.variant
	}
	return filepath.Join(goldenEventsDir, name+".json")
}

// gMust returns v, failing the test run on err: the fixtures below are
// valid by construction.
func gMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func gTime(s string) time.Time { return gMust(time.Parse(time.RFC3339Nano, s)) }

// eventGoldens are realistic events with, across the variants of each
// type, every optional field both set and unset.
func eventGoldens() []eventGolden {
	siren := gMust(ParseSIREN("732829320"))
	bank := gMust(ParseBankCode("30004"))
	number := gMust(ParseAttestationNumber(NewAttestationNumber([NumberEntropyBytes]byte{7, 20, 2, 9, 29, 22, 18, 3, 25, 5, 13, 27, 12, 23, 1}).String()))
	balanceSheet := Cents(1_850_000_00)
	openedOn := MustDate("2019-11-04")
	bankActor := Actor{Role: RoleBank, ID: "30004"}
	adminActor := Actor{Role: RoleAdmin, ID: "agent.dgt-042"}
	companyActor := Actor{Role: RoleCompany, ID: "732829320"}
	return []eventGolden{
		{event: LoanRequestSubmitted{
			RequestID: "01HZ8Q6W3KJ5V2N9D4T7XG0BRM", SIREN: siren, BankCode: bank,
			Amount: 45_000_000, RequestedOn: MustDate("2020-04-02"),
			Company: CompanyProfile{
				Name: "Boulangerie Dupont & Fils <Lyon>", LegalForm: "SARL",
				NAF: gMust(ParseNAF("10.71C")), Region: gMust(ParseRegion("84")),
				Headcount: 42, Turnover: 3_200_000_00, BalanceSheet: &balanceSheet, Payroll: 1_100_000_00,
				CreatedOn: MustDate("1987-06-15"), Innovative: true,
				CollectiveProceeding: CollectiveProceeding{Kind: ProceedingSafeguard, OpenedOn: &openedOn},
			},
			SubmittedBy: bankActor, SubmittedAt: gTime("2020-04-02T09:14:07.123456789Z"),
		}},
		{variant: "minimal", event: LoanRequestSubmitted{
			RequestID: "r-1", SIREN: siren, BankCode: bank,
			Amount: 1, RequestedOn: MustDate("2020-03-25"),
			Company: CompanyProfile{
				Name: "Café de la Gare", LegalForm: "EI",
				NAF: gMust(ParseNAF("56.30Z")), Region: gMust(ParseRegion("11")),
				CreatedOn:            MustDate("2019-09-01"),
				CollectiveProceeding: CollectiveProceeding{Kind: ProceedingNone},
			},
			SubmittedBy: companyActor, SubmittedAt: gTime("2020-03-25T00:00:00Z"),
		}},
		{event: LoanRequestAssessed{
			RequestID: "01HZ8Q6W3KJ5V2N9D4T7XG0BRM", Outcome: OutcomeRejected, RulesVersion: "2020-03-23",
			Reasons: []Reason{
				{Code: ReasonCollectiveProceeding, Message: "a collective proceeding (safeguard) was opened on 2019-11-04"},
				{Code: ReasonCeilingExceeded, Message: "450000.00 € asked, 275000.00 € left under the ceiling"},
			},
			SizeCategory: SizeSME, CeilingCents: 800_000_00, RemainingCeilingCents: 275_000_00,
			GuaranteeRateBps: 9000, FeeScheduleBps: SMEFeeSchedule,
		}},
		{variant: "eligible", event: LoanRequestAssessed{
			RequestID: "r-1", Outcome: OutcomeEligible, RulesVersion: "2020-04-26", Reasons: []Reason{},
			SizeCategory: SizeMicro, CeilingCents: 30_000_00, RemainingCeilingCents: 30_000_00,
			GuaranteeRateBps: 9000, FeeScheduleBps: SMEFeeSchedule,
		}},
		{event: StateDecisionRecorded{
			RequestID: "01HZ9A0C5T2M7R4W8K1N6P3QXE", Approved: true, DecreeRef: "Arrêté du 2 mai 2020 (NOR: ECOT2010820A)",
			Outcome: OutcomeAttested, RulesVersion: "2020-04-26", Reasons: []Reason{},
			CeilingCents: 3_000_000_000_00, RemainingCeilingCents: 2_250_000_000_00,
			DecidedBy: adminActor, DecidedAt: gTime("2020-05-02T16:40:00.5Z"),
		}},
		{variant: "refused", event: StateDecisionRecorded{
			RequestID: "r-2", Approved: false, Outcome: OutcomeRejected, RulesVersion: "2020-03-23",
			Reasons:      []Reason{{Code: ReasonStateRefused, Message: "the State refused the guarantee"}},
			CeilingCents: 2_400_000_000_00, RemainingCeilingCents: 2_400_000_000_00,
			DecidedBy: adminActor, DecidedAt: gTime("2020-04-20T08:00:00Z"),
		}},
		{event: AttestationIssued{
			Number: number, RequestID: "01HZ9A0C5T2M7R4W8K1N6P3QXE", SIREN: siren,
			CompanyName: "Grands Ateliers \"Réunis\" & Cie", BankCode: bank, Amount: 750_000_000_00,
			GuaranteeRateBps: 8000, FeeScheduleBps: LargerFeeSchedule,
			DecreeRef: "Arrêté du 2 mai 2020 (NOR: ECOT2010820A)", IssuedAt: gTime("2020-05-02T16:40:00.5Z"),
		}},
		{variant: "without-decree", event: AttestationIssued{
			Number: number, RequestID: "r-1", SIREN: siren, CompanyName: "Café de la Gare", BankCode: bank,
			Amount: 1, GuaranteeRateBps: 9000, FeeScheduleBps: SMEFeeSchedule, IssuedAt: gTime("2020-03-25T00:00:00Z"),
		}},
		{event: LoanGranted{
			Number: number, GrantedAmount: 44_000_000, GrantedOn: MustDate("2020-04-12"), DurationMonths: 60,
			GrantedBy: bankActor, GrantedAt: gTime("2020-04-12T10:02:33.000001Z"),
		}},
		{event: AttestationCancelled{
			Number: number, Reason: "loan no longer needed: the company's insurer paid out",
			CancelledBy: companyActor, CancelledAt: gTime("2020-04-10T14:21:09Z"),
		}},
	}
}

// TestEventGolden checks every golden both ways.
func TestEventGolden(t *testing.T) {
	for _, g := range eventGoldens() {
		t.Run(filepath.Base(g.file()), func(t *testing.T) {
			current := g.schemaVersion() == g.event.EventSchemaVersion()
			if current {
				encoded, err := EncodeEvent(g.event)
				if err != nil {
					t.Fatal(err)
				}
				if *updateGoldens {
					if err := os.WriteFile(g.file(), encoded, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				golden := readGolden(t, g.file())
				if !bytes.Equal(encoded, golden) {
					t.Errorf("EncodeEvent changed the wire format of %s v%d:\n got %s\nwant %s\n"+
						"(a stored event's format is frozen: add a schema version instead)",
						g.event.EventType(), g.schemaVersion(), encoded, golden)
				}
			}
			golden := readGolden(t, g.file())
			decoded, err := DecodeEvent(g.event.EventType(), g.schemaVersion(), golden)
			if err != nil {
				t.Fatalf("the golden no longer decodes: %v", err)
			}
			if !reflect.DeepEqual(decoded, g.event) {
				t.Errorf("decoding the golden gave\n %#v\nwant\n %#v", decoded, g.event)
			}
		})
	}
}

func readGolden(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read golden (rewrite the goldens with -update for a new event type or version): %v", err)
	}
	return b
}

var goldenName = regexp.MustCompile(`^([a-z_.]+)\.v([1-9][0-9]*)(\.[a-z0-9-]+)?\.json$`)

// TestEventGoldenCoverage checks that every event type and schema version
// the domain decodes has a golden, and that every golden on disk is of a
// known type and version and is checked by TestEventGolden.
func TestEventGoldenCoverage(t *testing.T) {
	known := map[string]bool{} // "type vN"
	for typ, versions := range eventDecoders {
		for v := range versions {
			known[fmt.Sprintf("%s v%d", typ, v)] = true
		}
	}
	decodable := slices.Sorted(func(yield func(string) bool) {
		for typ := range eventDecoders {
			if !yield(typ) {
				return
			}
		}
	})
	if listed := slices.Sorted(slices.Values(EventTypes())); !slices.Equal(listed, decodable) {
		t.Errorf("EventTypes() lists %v, DecodeEvent knows %v", listed, decodable)
	}

	cased := map[string]bool{}
	for _, g := range eventGoldens() {
		cased[g.file()] = true
	}
	covered := map[string]bool{}
	entries, err := os.ReadDir(goldenEventsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		file := filepath.Join(goldenEventsDir, e.Name())
		m := goldenName.FindStringSubmatch(e.Name())
		switch {
		case m == nil:
			t.Errorf("%s: not a golden name (<type>.v<version>[.<variant>].json)", file)
		case !known[m[1]+" v"+m[2]]:
			t.Errorf("%s: orphaned golden: the domain decodes no event %s v%s", file, m[1], m[2])
		case !cased[file]:
			t.Errorf("%s: orphaned golden: no case of eventGoldens() checks it", file)
		default:
			covered[m[1]+" v"+m[2]] = true
		}
	}
	for k := range known {
		if !covered[k] {
			t.Errorf("event %s has no golden under %s: add a case to eventGoldens() and run with -update", k, goldenEventsDir)
		}
	}
}
