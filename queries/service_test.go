package queries_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/handlers"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/projections"
	"github.com/attestation-ledger/attestation-ledger/queries"
)

// stack is the real thing: store, read models, verifiable log, the query
// service and the command handlers.
type stack struct {
	qs   *queries.Service
	cmds *handlers.Commands
	rm   *projections.ReadModels
	log  *integrity.Log
}

func newStack(t *testing.T) stack {
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
	log, err := integrity.Open(ctx, integrity.Config{Dir: filepath.Join(dir, "ledger"), KeyDir: filepath.Join(dir, "keys")})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { _ = rm.Run(ctx); done <- struct{}{} }()
	go func() { _ = log.Run(ctx, store); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		log.Close()
		rm.Close()
		store.Close()
	})
	keys, err := store.IdempotencyKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	index, err := store.AttestationIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := queries.New(queries.Config{Store: store, ReadModels: rm, Ledger: log})
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := handlers.NewCommands(handlers.Config{Store: store, Index: index, Lookup: qs, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return stack{qs: qs, cmds: cmds, rm: rm, log: log}
}

var (
	acme    = domain.Actor{Role: domain.RoleCompany, ID: "732829320"}
	other   = domain.Actor{Role: domain.RoleCompany, ID: "552100554"}
	bnp     = domain.Actor{Role: domain.RoleBank, ID: "30004"}
	sg      = domain.Actor{Role: domain.RoleBank, ID: "30003"}
	auditor = domain.Actor{Role: domain.RoleAuditor, ID: "a"}
	acpr    = domain.Actor{Role: domain.RoleRegulator, ID: "acpr"}
)

func submit(t *testing.T, s stack) (requestID string, n domain.AttestationNumber) {
	t.Helper()
	siren, _ := domain.ParseSIREN("732829320")
	bank, _ := domain.ParseBankCode("30004")
	naf, _ := domain.ParseNAF("10.71C")
	reg, _ := domain.ParseRegion("11")
	v, err := s.cmds.SubmitLoanRequest(context.Background(), handlers.Meta{Actor: bnp}, handlers.SubmitLoanRequest{
		SIREN: siren, Bank: bank, Amount: 1_000_000, RequestedOn: domain.MustDate("2020-05-04"),
		Profile: domain.CompanyProfile{
			Name: "Boulangerie Martin", LegalForm: "SAS", NAF: naf, Region: reg, Headcount: 8,
			Turnover: 85000000, Payroll: 30000000, CreatedOn: domain.MustDate("2012-05-14"),
			CollectiveProceeding: domain.CollectiveProceeding{Kind: domain.ProceedingNone},
		},
	})
	if err != nil || v.Attestation == nil {
		t.Fatalf("submit: %+v %v", v, err)
	}
	n, _ = domain.ParseAttestationNumber(v.Attestation.Number)
	if err := s.rm.WaitForPosition(context.Background(), v.Position); err != nil {
		t.Fatal(err)
	}
	return v.RequestID, n
}

func kind(err error) errs.Kind {
	if err == nil {
		return ""
	}
	return errs.KindOf(err)
}

// Every read asks the policy: owners and the roles that see everything
// get the resource, another tenant is told it does not exist, a role that
// may never read it is forbidden.
func TestReadsFollowThePolicy(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	id, n := submit(t, s)
	siren, _ := domain.ParseSIREN("732829320")
	for _, c := range []struct {
		name string
		who  domain.Actor
		want errs.Kind
	}{
		{"request by its company", acme, ""},
		{"request by its bank", bnp, ""},
		{"request by another company", other, errs.NotFound},
		{"request by another bank", sg, errs.NotFound},
		{"request by an auditor", auditor, ""},
		{"request by a regulator", acpr, errs.Forbidden},
	} {
		_, err := s.qs.LoanRequest(ctx, c.who, id)
		if kind(err) != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		who  domain.Actor
		want errs.Kind
	}{
		{"attestation by its bank", bnp, ""}, {"attestation by a regulator", acpr, ""}, {"attestation by another bank", sg, errs.NotFound},
	} {
		if _, err := s.qs.AttestationJSON(ctx, c.who, n); kind(err) != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		who  domain.Actor
		want errs.Kind
	}{
		{"company by itself", acme, ""}, {"company by a bank with an attestation for it", bnp, ""},
		{"company by a bank without", sg, errs.NotFound}, {"company by another company", other, errs.NotFound}, {"company by a regulator", acpr, ""},
	} {
		if _, err := s.qs.Company(ctx, c.who, siren); kind(err) != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := s.qs.History(ctx, bnp, siren); kind(err) != errs.Forbidden {
		t.Errorf("history by a bank: %v", err)
	}
	if envs, err := s.qs.History(ctx, auditor, siren); err != nil || len(envs) != 3 {
		t.Errorf("history by an auditor: %d events, %v", len(envs), err)
	}
	if envs, next, err := s.qs.Events(ctx, auditor, 2, 10); err != nil || len(envs) != 2 || next != 4 {
		t.Errorf("events from 2: %d, next %d, %v", len(envs), next, err)
	}
	if _, err := s.qs.Report(ctx, bnp, projections.ReportQuery{GroupBy: "size"}); kind(err) != errs.Forbidden {
		t.Errorf("report by a bank: %v", err)
	}
	if page, err := s.qs.ListAttestations(ctx, sg, projections.AttestationFilter{Limit: 10}); err != nil || len(page.Items) != 0 {
		t.Errorf("another bank's list: %+v %v", page, err)
	}
	if page, err := s.qs.ListAttestations(ctx, bnp, projections.AttestationFilter{BankCode: "30003", Limit: 10}); err != nil || len(page.Items) != 0 {
		t.Errorf("a bank asking for another's: %+v %v", page, err)
	}
	if page, err := s.qs.ListAttestations(ctx, bnp, projections.AttestationFilter{Limit: 10}); err != nil || len(page.Items) != 1 {
		t.Errorf("a bank's own list: %+v %v", page, err)
	}
}

// Time travel rebuilds an attestation from its company's events as they
// stood at an instant.
func TestAttestationAsOf(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	_, n := submit(t, s)
	issued := time.Now()
	time.Sleep(5 * time.Millisecond)
	g, err := s.cmds.GrantLoan(ctx, handlers.Meta{Actor: bnp}, handlers.GrantLoan{Number: n, Amount: 1_000_000, GrantedOn: domain.MustDate("2020-05-05"), DurationMonths: 24})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.rm.WaitForPosition(ctx, g.Position); err != nil {
		t.Fatal(err)
	}
	if _, err := s.qs.AttestationAsOf(ctx, auditor, n, before); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("before issue: %v", err)
	}
	if v, err := s.qs.AttestationAsOf(ctx, auditor, n, issued); err != nil || v.Status != "issued" {
		t.Errorf("at issue: %+v %v", v, err)
	}
	if v, err := s.qs.AttestationAsOf(ctx, auditor, n, time.Now()); err != nil || v.Status != "loan_granted" {
		t.Errorf("now: %+v %v", v, err)
	}
	if _, err := s.qs.AttestationAsOf(ctx, bnp, n, time.Now()); kind(err) != errs.Forbidden {
		t.Errorf("time travel by a bank: %v", err)
	}
}

// The proof of an attestation proves its issuing event's entry against a
// signed checkpoint; another tenant is told it does not exist.
func TestAttestationProof(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	_, n := submit(t, s)
	p, err := s.qs.AttestationProof(ctx, bnp, n)
	if err != nil {
		t.Fatal(err)
	}
	cp, ok := s.log.Latest()
	if !ok || cp.Size < p.Index+1 {
		t.Fatalf("checkpoint %+v for leaf %d", cp, p.Index)
	}
	proofCP, err := integrity.ParseCheckpoint([]byte(p.Checkpoint[:indexBlank(p.Checkpoint)]))
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(p.Hashes, proofCP.Size, proofCP.Root, p.Index, tlog.RecordHash([]byte(p.Entry))); err != nil {
		t.Fatalf("the proof does not verify: %v", err)
	}
	if p.Index != 2 {
		t.Errorf("leaf %d, want 2 (the third event issues)", p.Index)
	}
	if _, err := s.qs.AttestationProof(ctx, sg, n); kind(err) != errs.NotFound {
		t.Errorf("another bank's proof: %v", err)
	}
	if _, err := s.qs.AttestationProof(ctx, acpr, n); kind(err) != errs.Forbidden {
		t.Errorf("a regulator's proof: %v", err)
	}
}

// indexBlank returns the length of a signed note's body (up to and
// including the newline before the blank line).
func indexBlank(note string) int {
	for i := 0; i+1 < len(note); i++ {
		if note[i] == '\n' && note[i+1] == '\n' {
			return i + 1
		}
	}
	return len(note)
}
