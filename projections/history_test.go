package projections

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/memstore"
)

// history builds realistic event histories by running real domain
// decisions (submit, State decision, grant, cancel) on Company aggregates
// and appending their events to a store, as the command handlers do. The
// aggregates are the oracle the read models are checked against.
type history struct {
	tb        testing.TB
	store     eventstore.Store
	rng       *rand.Rand
	entropy   *rand.ChaCha8
	companies []*domain.Company
	bySIREN   map[string]*domain.Company
	followUps []followUp
	clock     time.Time
	events    int
	nextSIREN int
}

// followUp is a later decision on an earlier outcome.
type followUp struct {
	company *domain.Company
	kind    string // grant, cancel, decide
	number  domain.AttestationNumber
	request string
}

var (
	testBanks = []string{"30004", "30003", "30002", "20041", "10278", "30066", "10107"}
	testNAFs  = []string{"10.71C", "56.10A", "47.11B", "62.01Z", "43.21A", "86.21Z", "01.11Z", "68.20B", "25.11Z", "64.19Z"}
)

func newHistory(tb testing.TB, store eventstore.Store, seed uint64) *history {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	return &history{
		tb: tb, store: store, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), entropy: rand.NewChaCha8(key),
		bySIREN: map[string]*domain.Company{}, clock: time.Date(2020, 3, 16, 8, 0, 0, 0, time.UTC),
		nextSIREN: 100000000 + int(seed%1000)*1000,
	}
}

// newSIREN returns the next valid SIREN (Luhn).
func (h *history) newSIREN() domain.SIREN {
	for {
		h.nextSIREN++
		s, err := domain.ParseSIREN(fmt.Sprintf("%09d", h.nextSIREN))
		if err == nil {
			return s
		}
	}
}

func mustParse[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// profile returns a random company profile: mostly micro-companies, some
// SMEs, few mid-caps and large companies (the State decides for those).
func (h *history) profile() domain.CompanyProfile {
	r := h.rng
	var headcount int64
	var turnover domain.Cents
	switch x := r.IntN(100); {
	case x < 70:
		headcount, turnover = int64(r.IntN(10)), domain.Euros(int64(100_000+r.IntN(1_500_000)))
	case x < 95:
		headcount, turnover = int64(10+r.IntN(240)), domain.Euros(int64(2_000_000+r.IntN(40_000_000)))
	case x < 97:
		headcount, turnover = int64(250+r.IntN(4000)), domain.Euros(int64(60_000_000+r.IntN(900_000_000)))
	default:
		headcount, turnover = int64(6000+r.IntN(20000)), domain.Euros(int64(2_000_000_000+r.IntN(1_000_000_000)))
	}
	p := domain.CompanyProfile{
		Name:      fmt.Sprintf("Entreprise %d", h.nextSIREN),
		LegalForm: []string{"SAS", "SARL", "SA", "EURL"}[r.IntN(4)],
		NAF:       mustParse(domain.ParseNAF(testNAFs[r.IntN(len(testNAFs))])),
		Region:    domain.RegionCodes()[r.IntN(len(domain.RegionCodes()))],
		Headcount: headcount, Turnover: turnover, Payroll: turnover * 3 / 10,
		CreatedOn:            domain.MustDate("2005-01-10").AddDays(r.IntN(5000)),
		Innovative:           r.IntN(20) == 0,
		CollectiveProceeding: domain.CollectiveProceeding{Kind: domain.ProceedingNone},
	}
	if r.IntN(3) == 0 {
		bs := turnover / 2
		p.BalanceSheet = &bs
	}
	if r.IntN(30) == 0 {
		p.LegalForm = "SCI"
	}
	if r.IntN(40) == 0 {
		opened := domain.MustDate("2019-10-01")
		p.CollectiveProceeding = domain.CollectiveProceeding{Kind: domain.ProceedingSafeguard, OpenedOn: &opened}
	}
	return p
}

func (h *history) number() domain.AttestationNumber {
	return mustParse(domain.GenerateAttestationNumber(h.entropy))
}

// append records a decision's events on the company's stream and applies
// them to the aggregate.
func (h *history) append(ctx context.Context, c *domain.Company, events []domain.Event) eventstore.AppendResult {
	h.tb.Helper()
	news := make([]eventstore.NewEvent, len(events))
	for i, e := range events {
		data, err := domain.EncodeEvent(e)
		if err != nil {
			h.tb.Fatal(err)
		}
		h.events++
		news[i] = eventstore.NewEvent{
			ID: fmt.Sprintf("ev-%09d", h.events), Type: e.EventType(), SchemaVersion: e.EventSchemaVersion(),
			OccurredAt: h.clock, Data: data, Actor: eventstore.Actor{Role: "bank", ID: "30004"},
		}
	}
	res, err := h.store.Append(ctx, c.Stream(), eventstore.Exact(c.Version()), news...)
	if err != nil {
		h.tb.Fatalf("append to %s: %v", c.Stream(), err)
	}
	for _, e := range events {
		if err := c.Apply(e); err != nil {
			h.tb.Fatal(err)
		}
	}
	return res
}

// submit submits one loan request of a new or existing company.
func (h *history) submit(ctx context.Context) {
	h.tb.Helper()
	r := h.rng
	var c *domain.Company
	var p domain.CompanyProfile
	if len(h.companies) == 0 || r.IntN(10) < 6 {
		c = domain.NewCompany(h.newSIREN())
		h.companies = append(h.companies, c)
		h.bySIREN[c.SIREN().String()] = c
		p = h.profile()
	} else {
		c = h.companies[r.IntN(len(h.companies))]
		var ok bool
		if p, ok = c.Profile(); !ok {
			p = c.Requests()[0].Profile // nothing attested yet
		}
	}
	on := domain.MustDate("2020-03-16").AddDays(r.IntN(140))
	if r.IntN(100) == 0 {
		on = domain.MustDate("2020-03-02")
	}
	if on.Before(p.CreatedOn) {
		p.CreatedOn = on.AddDays(-400)
	}
	amount := max(domain.Euros(1000), p.Turnover*domain.Cents(5+r.IntN(22))/100)
	bank := mustParse(domain.ParseBankCode(testBanks[r.IntN(len(testBanks))]))
	id := fmt.Sprintf("req-%09d", h.events+1)
	events, err := c.SubmitLoanRequest(domain.SubmitLoanRequest{
		RequestID: id, SIREN: c.SIREN(), Bank: bank, Amount: amount, RequestedOn: on, Profile: p,
		Number: h.number(), By: domain.Actor{Role: domain.RoleBank, ID: bank.String()},
	}, h.clock)
	if err != nil {
		h.tb.Fatalf("submit: %v", err)
	}
	h.append(ctx, c, events)
	req, _ := c.Request(id)
	switch req.Status {
	case domain.RequestAttested:
		switch x := r.IntN(10); {
		case x < 6:
			h.followUps = append(h.followUps, followUp{company: c, kind: "grant", number: req.Attestation})
		case x < 7:
			h.followUps = append(h.followUps, followUp{company: c, kind: "cancel", number: req.Attestation})
		}
	case domain.RequestPendingStateReview:
		if r.IntN(10) < 7 { // others wait for the State
			h.followUps = append(h.followUps, followUp{company: c, kind: "decide", request: id})
		}
	}
}

// followUp runs one random pending follow-up decision.
func (h *history) followUp(ctx context.Context) {
	h.tb.Helper()
	i := h.rng.IntN(len(h.followUps))
	f := h.followUps[i]
	h.followUps = append(h.followUps[:i], h.followUps[i+1:]...)
	c := f.company
	var events []domain.Event
	var err error
	switch f.kind {
	case "grant":
		a, _ := c.Attestation(f.number)
		req, _ := c.Request(a.RequestID)
		events, err = c.GrantLoan(domain.GrantLoan{
			Number: f.number, Amount: a.Amount - a.Amount*domain.Cents(h.rng.IntN(10))/100,
			GrantedOn: req.RequestedOn.AddDays(3 + h.rng.IntN(20)), DurationMonths: 12 + h.rng.IntN(61),
			By: domain.Actor{Role: domain.RoleBank, ID: a.Bank.String()},
		}, h.clock)
	case "cancel":
		events, err = c.CancelAttestation(domain.CancelAttestation{
			Number: f.number, Reason: "financing found elsewhere",
			By: domain.Actor{Role: domain.RoleCompany, ID: c.SIREN().String()},
		}, h.clock)
	case "decide":
		approved := h.rng.IntN(10) < 7
		cmd := domain.RecordStateDecision{RequestID: f.request, Approved: approved, By: domain.Actor{Role: domain.RoleAdmin, ID: "ops"}}
		if approved {
			cmd.DecreeRef, cmd.Number = "ECOT2020"+f.request, h.number()
		}
		events, err = c.RecordStateDecision(cmd, h.clock)
	}
	if err != nil {
		h.tb.Fatalf("%s: %v", f.kind, err)
	}
	h.append(ctx, c, events)
}

// run makes n decisions: new requests, interleaved with the grants,
// cancellations and State decisions that follow earlier ones.
func (h *history) run(ctx context.Context, n int) {
	h.tb.Helper()
	for range n {
		h.clock = h.clock.Add(time.Duration(1+h.rng.IntN(600)) * time.Second)
		if len(h.followUps) > 0 && h.rng.IntN(10) < 4 {
			h.followUp(ctx)
		} else {
			h.submit(ctx)
		}
	}
}

// newTestStore returns an in-memory store closed at the end of the test.
func newTestStore(tb testing.TB) *memstore.Store {
	s := memstore.New()
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
