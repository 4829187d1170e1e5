package securityreport

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
	"github.com/attestation-ledger/attestation-ledger/journal"
)

const origin = "test.example/ledger"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is a real journal on an embedded nats-server, a ledger log and
// a keys dir made by datadir.Keys.Init.
type fixture struct {
	j      *journal.Journal
	ledger *integrity.Log
	keys   datadir.Keys
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	store, err := jetstream.Open(ctx, jetstream.Config{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	keys := datadir.NewKeys(t.TempDir() + "/keys")
	if _, _, err := keys.Init(origin); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(ctx, journal.Config{JetStream: store.JetStream(), Dir: t.TempDir(), KeyDir: keys.Dir, Origin: origin,
		CheckpointInterval: 20 * time.Millisecond, Instance: "test-1", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = j.Close(cctx)
	})
	ledger, err := integrity.Open(ctx, integrity.Config{Dir: t.TempDir(), KeyDir: keys.Dir, Origin: origin, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ledger.Close() })
	return fixture{j: j, ledger: ledger, keys: keys}
}

// ledgerCheckpoint grows the ledger's tree by n leaves and signs it.
func (f fixture) ledgerCheckpoint(t *testing.T, n int) integrity.SignedCheckpoint {
	t.Helper()
	ctx := context.Background()
	size, _ := f.ledger.Size()
	hs := make([]tlog.Hash, n)
	for i := range hs {
		hs[i] = tlog.RecordHash([]byte{byte(size), byte(i)})
	}
	if _, err := f.ledger.AppendHashes(ctx, size, hs...); err != nil {
		t.Fatal(err)
	}
	cp, err := f.ledger.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// record records the entries in order and waits until a signed journal
// checkpoint covers them.
func (f fixture) record(t *testing.T, es []journal.Entry) {
	t.Helper()
	before, _ := f.j.Tree().Size()
	for _, e := range es {
		if err := f.j.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	want := before + int64(len(es))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cp, ok := f.j.Tree().Latest(); ok && cp.Size >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no journal checkpoint of %d entries", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f fixture) sources() Sources {
	return Sources{Journal: f.j, Ledger: f.ledger, Keys: f.keys.Inventory,
		Untrusted: func() (int, []uint64) { return 0, nil }}
}

// planted is the period's workload: a brute force from one address, a
// flood by one company, denials, reads, admin actions, a key rotation, a
// journal loss, and a ledger checkpoint journaled.
func planted(base time.Time, cp integrity.SignedCheckpoint) []journal.Entry {
	var es []journal.Entry
	at := func(d time.Duration, e journal.Entry) { e.Time = base.Add(d); es = append(es, e) }
	bank := journal.Entry{Subject: "30004", Role: "bank", Tenant: "bank:30004", Source: "192.0.2.7"}
	company := journal.Entry{Subject: "552100554", Role: "company", Tenant: "siren:552100554", Source: "192.0.2.8"}
	with := func(e journal.Entry, a journal.Action, r journal.Result, d map[string]string) journal.Entry {
		e.Action, e.Result, e.Detail = a, r, d
		return e
	}
	at(0, journal.Entry{Action: journal.ServiceStart, Result: journal.Success, Subject: "ledger"})
	at(time.Second, journal.Entry{Action: journal.CheckpointPublish, Result: journal.Success, Subject: "ledger",
		Object: "4", Detail: map[string]string{"root": cp.Root.String(), "published": "1"}})
	for i := range 5 {
		at(time.Minute+time.Duration(i)*time.Second, with(bank, journal.AuthnSuccess, journal.Success, nil))
	}
	for i := range 2 {
		at(2*time.Minute+time.Duration(i)*time.Second, with(company, journal.AuthnSuccess, journal.Success, nil))
	}
	// 12 failures from one address in 110 s: one brute-force episode.
	for i := range 12 {
		at(3*time.Minute+time.Duration(i)*10*time.Second, journal.Entry{Action: journal.AuthnFailure, Result: journal.Failure,
			Subject: "anonymous", Source: "203.0.113.9", Detail: map[string]string{"reason": "invalid-token", "status": "401"}})
	}
	// 3 failures from another: below the threshold.
	for i := range 3 {
		at(6*time.Minute+time.Duration(i)*time.Second, journal.Entry{Action: journal.AuthnFailure, Result: journal.Failure,
			Subject: "anonymous", Source: "198.51.100.1", Detail: map[string]string{"reason": "missing-token", "status": "401"}})
	}
	for i := range 2 {
		at(7*time.Minute+time.Duration(i)*time.Second, with(bank, journal.AccessDenied, journal.Denied, map[string]string{"status": "403", "reason": "forbidden"}))
	}
	for i := range 3 {
		at(8*time.Minute+time.Duration(i)*time.Second, with(bank, journal.AccessDenied, journal.Denied, map[string]string{"status": "404", "reason": "hidden"}))
	}
	// 25 quota refusals of one company in 25 s: one flood.
	for i := range 25 {
		at(9*time.Minute+time.Duration(i)*time.Second, with(company, journal.RateLimitHit, journal.Failure, map[string]string{"status": "429"}))
	}
	for i := range 3 {
		at(11*time.Minute+time.Duration(i)*time.Second, with(bank, journal.RateLimitHit, journal.Failure, map[string]string{"status": "429"}))
	}
	for i := range 4 {
		e := with(bank, journal.ReadCompany, journal.Success, nil)
		e.Object = "552100554"
		at(12*time.Minute+time.Duration(i)*time.Second, e)
	}
	admin := journal.Entry{Subject: "ops-1", Role: "admin", Source: "192.0.2.50"}
	a1 := with(admin, journal.AdminAction, journal.Success, map[string]string{"operation": "projections.rebuild"})
	at(13*time.Minute, a1)
	a2 := with(admin, journal.AdminAction, journal.Success, map[string]string{"operation": "state-decision"})
	a2.Object = "01HZREQ"
	at(14*time.Minute, a2)
	r := with(admin, journal.TokenRevoke, journal.Success, nil)
	r.Object = "jti-123"
	at(15*time.Minute, r)
	at(16*time.Minute, journal.Entry{Action: journal.KeyRotate, Result: journal.Success, Subject: "ops-1", Role: "admin",
		Object: "provenance", Detail: map[string]string{"from": "k1", "to": "k2"}})
	at(17*time.Minute, journal.Entry{Action: journal.JournalLoss, Result: journal.Error, Subject: "ledger", Detail: map[string]string{"dropped": "3"}})
	at(18*time.Minute, journal.Entry{Action: journal.EventUntrusted, Result: journal.Error, Subject: "ledger", Object: "41"})
	return es
}

func TestBuildReportsEverySectionOfAPlantedPeriod(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	cp4 := f.ledgerCheckpoint(t, 4)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	// Outside the period on both sides: never counted.
	f.record(t, []journal.Entry{{Time: base.Add(-2 * time.Hour), Action: journal.AuthnFailure, Result: journal.Failure, Source: "203.0.113.9"}})
	f.record(t, planted(base, cp4))
	f.record(t, []journal.Entry{{Time: base.Add(2 * time.Hour), Action: journal.AdminAction, Result: journal.Success, Subject: "late", Role: "admin"}})
	f.ledgerCheckpoint(t, 3)
	if err := os.Chmod(f.keys.NATSAuditor, 0o644); err != nil {
		t.Fatal(err)
	}

	rep, err := Build(ctx, f.sources(), base, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Entries != 67 || rep.Summary.FirstPosition != 2 || rep.Summary.LastPosition != 68 {
		t.Errorf("summary: %d entries, positions %d–%d; want 67, 2–68", rep.Summary.Entries, rep.Summary.FirstPosition, rep.Summary.LastPosition)
	}
	if rep.Summary.JournalLosses != 3 || rep.Summary.ServiceStarts != 1 || rep.Summary.ByAction["authn.failure"] != 15 {
		t.Errorf("summary: %+v", rep.Summary)
	}
	tenants := map[string]TenantStats{}
	for _, ts := range rep.Tenants {
		tenants[ts.Tenant] = ts
	}
	bank, company, anon := tenants["bank:30004"], tenants["siren:552100554"], tenants["anonymous"]
	if bank.AuthnSuccesses != 5 || bank.Forbidden != 2 || bank.Hidden != 3 || bank.Throttled != 3 || bank.Reads != 4 {
		t.Errorf("bank row: %+v", bank)
	}
	if company.AuthnSuccesses != 2 || company.Throttled != 25 || company.Forbidden != 0 {
		t.Errorf("company row: %+v", company)
	}
	if anon.AuthnFailures != 15 || anon.FailuresByReason["invalid-token"] != 12 || anon.FailuresByReason["missing-token"] != 3 {
		t.Errorf("anonymous row: %+v", anon)
	}
	if len(rep.BruteForce) != 1 || rep.BruteForce[0].Key != "203.0.113.9" || rep.BruteForce[0].Count != 12 || rep.BruteForce[0].Peak != 12 {
		t.Errorf("brute force: %+v", rep.BruteForce)
	}
	if len(rep.Floods) != 1 || rep.Floods[0].Key != "siren:552100554" || rep.Floods[0].Count != 25 {
		t.Errorf("floods: %+v", rep.Floods)
	}
	if len(rep.AdminActions) != 3 || rep.AdminActions[0].Detail["operation"] != "projections.rebuild" || rep.AdminActions[2].Action != "token.revoke" {
		t.Errorf("admin actions: %+v", rep.AdminActions)
	}
	if len(rep.Keys.Rotations) != 1 || rep.Keys.Rotations[0].Object != "provenance" {
		t.Errorf("rotations: %+v", rep.Keys.Rotations)
	}
	if len(rep.Keys.Inventory) < 6 {
		t.Errorf("inventory: %+v", rep.Keys.Inventory)
	}
	if rep.Untrusted.InPeriod != 1 || !rep.Untrusted.Known {
		t.Errorf("untrusted: %+v", rep.Untrusted)
	}
	if !rep.Clock.EntriesInOrder || rep.Clock.NowUTC.IsZero() || len(rep.Clock.NotChecked) == 0 {
		t.Errorf("clock: %+v", rep.Clock)
	}
	// Proofs: every check of both logs passed, and the expected ones ran.
	for _, li := range []LogIntegrity{rep.Integrity.Journal, rep.Integrity.Ledger} {
		if !li.OK {
			t.Errorf("%s: %+v", li.Origin, li.Checks)
		}
	}
	names := func(cs []Check) (out []string) {
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	jn, ln := strings.Join(names(rep.Integrity.Journal.Checks), "|"), strings.Join(names(rep.Integrity.Ledger.Checks), "|")
	for _, want := range []string{"signature of checkpoint", "leaves 2–68", "no gap", "inclusion of entry 2 in", "inclusion of entry 68 in", "consistency "} {
		if !strings.Contains(jn, want) {
			t.Errorf("journal checks %q lack %q", jn, want)
		}
	}
	if !strings.Contains(ln, "signature of checkpoint 7") || !strings.Contains(ln, "consistency 4 → 7") {
		t.Errorf("ledger checks: %q", ln)
	}
	ids := map[string]Finding{}
	for _, fd := range rep.Findings {
		ids[fd.ID] = fd
	}
	for _, id := range []string{"SR-S1", "SR-S2", "SR-S4", "SR-D-KEY-nats-auditor", "SR-D-LOSS", "SR-D-UNTRUSTED", "SR-D-BRUTEFORCE", "SR-D-FLOOD"} {
		if _, ok := ids[id]; !ok {
			t.Errorf("finding %s missing", id)
		}
	}
	if _, ok := ids["SR-D-PROOF-journal"]; ok {
		t.Errorf("a proof finding without a failed proof: %+v", ids["SR-D-PROOF-journal"])
	}
	if ids["SR-D-KEY-nats-auditor"].Severity != High {
		t.Errorf("an exposed secret key: %+v", ids["SR-D-KEY-nats-auditor"])
	}
	if len(rep.Coverage) < 8 {
		t.Errorf("coverage: %d rows", len(rep.Coverage))
	}
	for _, c := range rep.Coverage {
		if c.Topic == "No silent loss" && c.Status != NotMet {
			t.Errorf("a period with a journal loss covers %q: %+v", c.Topic, c)
		}
	}

	// JSON in English, HTML in French, both with the figures.
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"bruteForce":[{"rule":"brute-force","key":"203.0.113.9"`, `"bruteForceWindowSeconds":300`, `"authnFailures":15`} {
		if !bytes.Contains(js, []byte(want)) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	var html bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Rapport de sécurité", "Authentifications et refus par locataire", "203.0.113.9", "force brute", "Constats ouverts", "SR-D-BRUTEFORCE", "projections.rebuild"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(html.String(), "http://") || strings.Contains(html.String(), "https://") || strings.Contains(html.String(), "<script") {
		t.Error("the HTML page refers to an external asset or runs a script")
	}
}

// A ledger checkpoint journaled in the period that the ledger's latest
// does not extend, and an entry stepping back in time, are findings.
func TestBuildFindsAForkedLedgerCheckpointAndEntriesOutOfOrder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.ledgerCheckpoint(t, 4)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	f.record(t, []journal.Entry{
		{Time: base.Add(time.Minute), Action: journal.CheckpointPublish, Result: journal.Success, Subject: "ledger", Object: "2",
			Detail: map[string]string{"root": tlog.Hash{1}.String()}},
		{Time: base.Add(30 * time.Minute), Action: journal.ServiceStop, Result: journal.Success, Subject: "ledger"},
		{Time: base.Add(2 * time.Minute), Action: journal.ServiceStart, Result: journal.Success, Subject: "ledger"},
	})
	rep, err := Build(ctx, f.sources(), base, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Integrity.Ledger.OK || !rep.Integrity.Journal.OK {
		t.Fatalf("ledger ok %v, journal ok %v: %+v", rep.Integrity.Ledger.OK, rep.Integrity.Journal.OK, rep.Integrity.Ledger.Checks)
	}
	if rep.Clock.EntriesInOrder || rep.Clock.OutOfOrder != 1 || rep.Clock.MaxBackstepMs != float64(28*time.Minute/time.Millisecond) {
		t.Errorf("clock: %+v", rep.Clock)
	}
	var ids []string
	for _, fd := range rep.Findings {
		if fd.Detected {
			ids = append(ids, fd.ID)
		}
		if fd.ID == "SR-D-PROOF-ledger" && fd.Severity != Critical {
			t.Errorf("a forked ledger checkpoint is %s", fd.Severity)
		}
	}
	if !slices.Contains(ids, "SR-D-PROOF-ledger") || !slices.Contains(ids, "SR-D-ORDER") {
		t.Errorf("detected findings %v", ids)
	}
}

func TestBuildRefusesABadPeriod(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	for _, p := range [][2]time.Time{{now, now}, {now, now.Add(-time.Hour)}, {now.Add(-MaxPeriod - time.Hour), now}} {
		if _, err := Build(context.Background(), f.sources(), p[0], p[1]); err == nil {
			t.Errorf("period %v accepted", p)
		}
	}
}

// An entry of another time between the period's entries (recorded late,
// or with a wrong clock) is a gap in the period's positions: reported,
// with a low severity, not as a broken proof.
func TestBuildReportsAGapInThePeriodsPositions(t *testing.T) {
	f := newFixture(t)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	f.record(t, []journal.Entry{
		{Time: base.Add(time.Minute), Action: journal.ServiceStart, Result: journal.Success, Subject: "ledger"},
		{Time: base.Add(-3 * time.Hour), Action: journal.ServiceStop, Result: journal.Success, Subject: "ledger"},
		{Time: base.Add(2 * time.Minute), Action: journal.ServiceStart, Result: journal.Success, Subject: "ledger"},
	})
	rep, err := Build(context.Background(), f.sources(), base, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Entries != 2 || rep.Integrity.Journal.OK {
		t.Fatalf("%d entries, journal ok %v", rep.Summary.Entries, rep.Integrity.Journal.OK)
	}
	var gap *Check
	for i, c := range rep.Integrity.Journal.Checks {
		if c.Name == "no gap" {
			gap = &rep.Integrity.Journal.Checks[i]
		} else if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Error)
		}
	}
	if gap == nil || gap.OK || !strings.Contains(gap.Error, "1 positions between 1 and 3") {
		t.Fatalf("gap check: %+v", gap)
	}
	for _, fd := range rep.Findings {
		if fd.ID == "SR-D-PROOF-journal" && fd.Severity != Low {
			t.Errorf("a gap is %s", fd.Severity)
		}
	}
}
