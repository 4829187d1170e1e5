package handlers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/handlers"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/projections"
	"github.com/attestation-ledger/attestation-ledger/queries"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// fixture is one real store, read models and query service, and two
// command handlers on them, as two service instances would be.
type fixture struct {
	store *jetstream.Store
	rm    *projections.ReadModels
	index *jetstream.AttestationIndex
	qs    *queries.Service
	a, b  *handlers.Commands
}

// newFixture starts the fixture; with project false, the read models are
// never fed (they stay empty).
func newFixture(t *testing.T, project ...bool) fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	store, err := jetstream.Open(ctx, jetstream.Config{DataDir: filepath.Join(dir, "js")})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := projections.Open(ctx, projections.Config{Dir: filepath.Join(dir, "rm"), Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := integrity.Open(ctx, integrity.Config{Dir: filepath.Join(dir, "ledger"), KeyDir: filepath.Join(dir, "keys")})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	if len(project) == 0 || project[0] {
		go func() { _ = rm.Run(ctx); close(done) }()
	} else {
		close(done)
	}
	t.Cleanup(func() { cancel(); <-done; ledger.Close(); rm.Close(); store.Close() })
	keys, err := store.IdempotencyKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	index, err := store.AttestationIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := queries.New(queries.Config{Store: store, ReadModels: rm, Ledger: ledger, CatchUpTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	mk := func() *handlers.Commands {
		c, err := handlers.NewCommands(handlers.Config{Store: store, Index: index, Lookup: qs, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return fixture{store: store, rm: rm, index: index, qs: qs, a: mk(), b: mk()}
}

func submission(t *testing.T, siren, bank string, amount domain.Cents) handlers.SubmitLoanRequest {
	t.Helper()
	s, _ := domain.ParseSIREN(siren)
	b, _ := domain.ParseBankCode(bank)
	naf, _ := domain.ParseNAF("10.71C")
	reg, _ := domain.ParseRegion("11")
	bs := domain.Cents(40000000)
	return handlers.SubmitLoanRequest{
		SIREN: s, Bank: b, Amount: amount, RequestedOn: domain.MustDate("2020-05-04"),
		Profile: domain.CompanyProfile{
			Name: "Boulangerie Martin", LegalForm: "SAS", NAF: naf, Region: reg, Headcount: 8,
			Turnover: 85000000, BalanceSheet: &bs, Payroll: 30000000, CreatedOn: domain.MustDate("2012-05-14"),
			CollectiveProceeding: domain.CollectiveProceeding{Kind: domain.ProceedingNone},
		},
	}
}

func bankMeta(code string) handlers.Meta {
	return handlers.Meta{Actor: domain.Actor{Role: domain.RoleBank, ID: code}}
}

// Two instances with their own caches never overspend the ceiling: a stale
// cache meets a conflict and decides again on the stream as it is.
func TestTwoInstancesWithStaleCachesKeepTheCeiling(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Ceiling 21,250,000: A attests 15 M, then B (which has not seen the
	// company) attests 5 M, then A, whose cache is stale, asks 5 M more:
	// only 1.25 M remain, so it must be rejected.
	steps := []struct {
		h      *handlers.Commands
		amount domain.Cents
		want   string
	}{
		{f.a, 15_000_000, "attested"}, {f.b, 5_000_000, "attested"}, {f.a, 5_000_000, "rejected"}, {f.b, 1_250_000, "attested"},
	}
	for i, st := range steps {
		v, err := st.h.SubmitLoanRequest(ctx, bankMeta("30004"), submission(t, "732829320", "30004", st.amount))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if v.Status != st.want {
			t.Fatalf("step %d: %s, want %s (%+v)", i, v.Status, st.want, v.Reasons)
		}
	}
	envs, err := f.store.ReadStream(ctx, "company-732829320", 1)
	if err != nil {
		t.Fatal(err)
	}
	var total domain.Cents
	for _, env := range envs {
		e, _ := views.Decode(env)
		if iss, ok := e.(domain.AttestationIssued); ok {
			total += iss.Amount
		}
	}
	if total != 21_250_000 {
		t.Fatalf("attested %d, want exactly the ceiling", total)
	}
}

// Many concurrent submissions through both instances: the stream's
// versions stay contiguous and the ceiling holds.
func TestConcurrentInstancesOnOneCompany(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	attested := 0
	for i := 0; i < 30; i++ {
		h := f.a
		if i%2 == 1 {
			h = f.b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := h.SubmitLoanRequest(ctx, bankMeta("30003"), submission(t, "552100554", "30003", 2_000_000))
			if err != nil {
				t.Error(err)
				return
			}
			if v.Status == "attested" {
				mu.Lock()
				attested++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if attested != 10 {
		t.Fatalf("%d attested, want 10 (ceiling 21,250,000 / 2,000,000)", attested)
	}
	envs, _ := f.store.ReadStream(ctx, "company-552100554", 1)
	for i, env := range envs {
		if env.Version != uint64(i+1) {
			t.Fatalf("version %d at %d", env.Version, i)
		}
	}
}

// A grant of an attestation issued through the other instance: the
// number is found through the attestation index.
func TestGrantThroughTheOtherInstance(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v, err := f.a.SubmitLoanRequest(ctx, bankMeta("30004"), submission(t, "732829320", "30004", 1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := domain.ParseAttestationNumber(v.Attestation.Number)
	g, err := f.b.GrantLoan(ctx, bankMeta("30004"), handlers.GrantLoan{Number: n, Amount: 1_000_000, GrantedOn: domain.MustDate("2020-05-05"), DurationMonths: 24})
	if err != nil || g.Status != "loan_granted" || g.CompanyName != "Boulangerie Martin" {
		t.Fatalf("grant: %+v %v", g, err)
	}
	// Granting again through A, whose cache still says issued: a conflict.
	if _, err := f.a.GrantLoan(ctx, bankMeta("30004"), handlers.GrantLoan{Number: n, Amount: 1, GrantedOn: domain.MustDate("2020-05-05"), DurationMonths: 24}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second grant: %v", err)
	}
	if _, err := f.a.CancelAttestation(ctx, bankMeta("30003"), handlers.CancelAttestation{Number: n}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("another bank's cancel: %v", err)
	}
}

// An idempotency key reused for another company's request is refused,
// even through another instance and even when both race: exactly one of
// the two requests is recorded, and a retry of the winner replays it.
func TestIdempotencyKeyReusedForAnotherCompany(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	keyed := func(hash string) handlers.Meta {
		m := bankMeta("30004")
		m.IdempotencyKey, m.RequestHash = "key-1", hash
		return m
	}
	type result struct {
		siren string
		err   error
	}
	results := make(chan result, 2)
	for i, siren := range []string{"732829320", "552100554"} {
		h := []*handlers.Commands{f.a, f.b}[i]
		go func() {
			_, err := h.SubmitLoanRequest(ctx, keyed("hash-"+siren), submission(t, siren, "30004", 1_000_000))
			results <- result{siren, err}
		}()
	}
	var winner string
	for range 2 {
		r := <-results
		switch {
		case r.err == nil:
			if winner != "" {
				t.Fatalf("both requests recorded with one key (%s and %s)", winner, r.siren)
			}
			winner = r.siren
		case errors.Is(r.err, handlers.ErrIdempotencyMismatch):
		default:
			t.Fatalf("%s: %v", r.siren, r.err)
		}
	}
	if winner == "" {
		t.Fatal("neither request was recorded")
	}
	for _, siren := range []string{"732829320", "552100554"} {
		envs, err := f.store.ReadStream(ctx, "company-"+siren, 1)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 3, false: 0}[siren == winner]; len(envs) != want {
			t.Fatalf("%s has %d events, want %d", siren, len(envs), want)
		}
	}
	head, _ := f.store.Head(ctx)
	v, err := f.b.SubmitLoanRequest(ctx, keyed("hash-"+winner), submission(t, winner, "30004", 1_000_000))
	if err != nil || v.Status != "attested" {
		t.Fatalf("retry of the winner: %+v %v", v, err)
	}
	if after, _ := f.store.Head(ctx); after != head {
		t.Fatalf("the retry appended: head %d → %d", head, after)
	}
	// The same key from another bank is another key.
	other := bankMeta("30003")
	other.IdempotencyKey, other.RequestHash = "key-1", "hash-x"
	if _, err := f.a.SubmitLoanRequest(ctx, other, submission(t, "403052111", "30003", 1_000_000)); err != nil {
		t.Fatalf("another bank's key-1: %v", err)
	}
}

// A command refused by the rules does not use up its key: the corrected
// request with the same key goes through.
func TestRefusedCommandLeavesItsKeyFree(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v, err := f.a.SubmitLoanRequest(ctx, bankMeta("30004"), submission(t, "732829320", "30004", 1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := domain.ParseAttestationNumber(v.Attestation.Number)
	m := bankMeta("30004")
	m.IdempotencyKey, m.RequestHash = "grant-1", "too-much"
	if _, err := f.a.GrantLoan(ctx, m, handlers.GrantLoan{Number: n, Amount: 2_000_000, GrantedOn: domain.MustDate("2020-05-05"), DurationMonths: 24}); err == nil {
		t.Fatal("a grant above the attested amount was accepted")
	}
	m.RequestHash = "right"
	if g, err := f.a.GrantLoan(ctx, m, handlers.GrantLoan{Number: n, Amount: 1_000_000, GrantedOn: domain.MustDate("2020-05-05"), DurationMonths: 24}); err != nil || g.Status != "loan_granted" {
		t.Fatalf("corrected grant: %+v %v", g, err)
	}
}

// Grant and cancel find the company through the store's attestation
// index: they work with read models that never projected anything.
func TestGrantAndCancelNeedNoReadModel(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	v, err := f.a.SubmitLoanRequest(ctx, bankMeta("30004"), submission(t, "732829320", "30004", 1_000_000))
	if err != nil || v.Attestation == nil {
		t.Fatalf("submit: %+v %v", v, err)
	}
	f.a.WaitIndexed()
	stream, ok, err := f.index.Lookup(ctx, v.Attestation.Number)
	if err != nil || !ok || stream != "company-732829320" {
		t.Fatalf("index: %q %v %v", stream, ok, err)
	}
	n, _ := domain.ParseAttestationNumber(v.Attestation.Number)
	g, err := f.b.GrantLoan(ctx, bankMeta("30004"), handlers.GrantLoan{Number: n, Amount: 1_000_000, GrantedOn: domain.MustDate("2020-05-05"), DurationMonths: 24})
	if err != nil || g.Status != "loan_granted" {
		t.Fatalf("grant: %+v %v", g, err)
	}
	if f.rm.Position() != 0 {
		t.Fatal("the read models moved")
	}
	// A number the index does not know is asked of the read models (a
	// pre-index attestation), which here never catch up.
	unknown := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{9, 9, 9})
	if _, err := f.a.CancelAttestation(ctx, bankMeta("30004"), handlers.CancelAttestation{Number: unknown}); !errors.Is(err, queries.ErrNotCaughtUp) {
		t.Fatalf("unknown number: %v, want the read models' wait to time out", err)
	}
}

// An attestation issued before the index existed (appended without an
// index entry, as an old data dir holds it) is found through the read
// models.
func TestPreIndexAttestationFoundThroughReadModels(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	siren, _ := domain.ParseSIREN("732829320")
	c := domain.NewCompany(siren)
	in := submission(t, "732829320", "30004", 1_000_000)
	n := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{1, 2, 3, 4, 5})
	events, err := c.SubmitLoanRequest(domain.SubmitLoanRequest{
		RequestID: "01JOLDREQUEST0000000000000", SIREN: siren, Bank: in.Bank, Amount: in.Amount, RequestedOn: in.RequestedOn,
		Profile: in.Profile, Number: n, By: domain.Actor{Role: domain.RoleBank, ID: "30004"},
	}, time.Now())
	if err != nil || len(events) != 3 {
		t.Fatalf("decide: %d events, %v", len(events), err)
	}
	news := make([]eventstore.NewEvent, len(events))
	for i, e := range events {
		data, err := domain.EncodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		news[i] = eventstore.NewEvent{ID: fmt.Sprintf("old-%d", i), Type: e.EventType(), SchemaVersion: e.EventSchemaVersion(), OccurredAt: time.Now(), Data: data}
	}
	if _, err := f.store.Append(ctx, c.Stream(), eventstore.NoStream(), news...); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := f.index.Lookup(ctx, n.String()); ok {
		t.Fatal("the old attestation is indexed")
	}
	v, err := f.a.CancelAttestation(ctx, bankMeta("30004"), handlers.CancelAttestation{Number: n, Reason: "old"})
	if err != nil || v.Status != "cancelled" {
		t.Fatalf("cancel of a pre-index attestation: %+v %v", v, err)
	}
}

// A number another company already holds in the index (two companies
// drew the same 75 bits): the attestation is issued all the same, the
// index keeps the first company, and a grant finds the attestation through
// the read models.
func TestNumberIndexedForAnotherCompanyIsFoundThroughReadModels(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	taken := make([]byte, domain.NumberEntropyBytes)
	for i := range taken {
		taken[i] = byte(i + 1)
	}
	var arr [domain.NumberEntropyBytes]byte
	copy(arr[:], taken)
	takenNumber := domain.NewAttestationNumber(arr)
	if _, err := f.index.Claim(ctx, takenNumber.String(), "company-552100554"); err != nil {
		t.Fatal(err)
	}
	keys, _ := f.store.IdempotencyKeys(ctx)
	h, err := handlers.NewCommands(handlers.Config{Store: f.store, Index: f.index, Lookup: f.qs, Keys: keys,
		Entropy: io.MultiReader(bytes.NewReader(taken), rand.Reader)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := h.SubmitLoanRequest(ctx, bankMeta("30004"), submission(t, "732829320", "30004", 1_000_000))
	if err != nil || v.Attestation == nil || v.Attestation.Number != takenNumber.String() {
		t.Fatalf("submit: %+v %v", v, err)
	}
	h.WaitIndexed()
	if stream, _, _ := f.index.Lookup(ctx, takenNumber.String()); stream != "company-552100554" {
		t.Fatalf("the taken number now points to %q", stream)
	}
	g, err := h.GrantLoan(ctx, bankMeta("30004"), handlers.GrantLoan{Number: takenNumber, Amount: 1_000_000, GrantedOn: domain.MustDate("2020-05-05"), DurationMonths: 24})
	if err != nil || g.Status != "loan_granted" || g.SIREN != "732829320" {
		t.Fatalf("grant: %+v %v", g, err)
	}
}
