package handlers

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// testRepository is a repository on a real store, without a key register.
func testRepository(t *testing.T, store eventstore.Store, maxRetries int) *Repository {
	t.Helper()
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	return newRepository(store, nil, nil, time.Now, maxRetries, 100, m)
}

func testRequest(t *testing.T, c *domain.Company, now time.Time, id string, n byte) ([]domain.Event, error) {
	t.Helper()
	naf, _ := domain.ParseNAF("10.71C")
	reg, _ := domain.ParseRegion("11")
	bank, _ := domain.ParseBankCode("30004")
	return c.SubmitLoanRequest(domain.SubmitLoanRequest{
		RequestID: id, SIREN: c.SIREN(), Bank: bank, Amount: 1_000_000, RequestedOn: domain.MustDate("2020-05-04"),
		Profile: domain.CompanyProfile{
			Name: "Boulangerie Martin", LegalForm: "SAS", NAF: naf, Region: reg, Headcount: 8,
			Turnover: 85000000, Payroll: 30000000, CreatedOn: domain.MustDate("2012-05-14"),
			CollectiveProceeding: domain.CollectiveProceeding{Kind: domain.ProceedingNone},
		},
		Number: domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{n}), By: domain.Actor{Role: domain.RoleBank, ID: "30004"},
	}, now)
}

// Update decides on the company's state, appends at its version, and the
// next Update decides on the cached state with what the first appended.
func TestRepositoryUpdate(t *testing.T) {
	store := openTestStore(t)
	repo := testRepository(t, store, 16)
	ctx := context.Background()
	siren, _ := domain.ParseSIREN("732829320")
	meta := Meta{Actor: domain.Actor{Role: domain.RoleBank, ID: "30004"}}
	for i, id := range []string{"r1", "r2"} {
		out, err := repo.Update(ctx, siren, Change{Meta: meta, Decide: func(c *domain.Company, now time.Time) ([]domain.Event, error) {
			if c.Version() != uint64(3*i) {
				t.Errorf("decision %d on version %d", i, c.Version())
			}
			return testRequest(t, c, now, id, byte(i+1))
		}})
		if err != nil || len(out.Events) != 3*(i+1) || out.Position != uint64(3*(i+1)) {
			t.Fatalf("update %d: %d events, position %d, %v", i, len(out.Events), out.Position, err)
		}
	}
}

// A BeforeAppend that fails ends the command with nothing appended.
func TestRepositoryBeforeAppendStopsTheAppend(t *testing.T) {
	store := openTestStore(t)
	repo := testRepository(t, store, 16)
	ctx := context.Background()
	siren, _ := domain.ParseSIREN("732829320")
	refused := errors.New("not now")
	_, err := repo.Update(ctx, siren, Change{
		Decide: func(c *domain.Company, now time.Time) ([]domain.Event, error) {
			return testRequest(t, c, now, "r1", 1)
		},
		BeforeAppend: func(context.Context, []domain.Event) error { return refused },
	})
	if !errors.Is(err, refused) {
		t.Fatalf("update: %v", err)
	}
	if head, _ := store.Head(ctx); head != 0 {
		t.Fatalf("head %d: something was appended", head)
	}
}

// A stale cached state meets a conflict: the repository reloads and
// decides again; with no retry left, the command is told the company is
// busy.
func TestRepositoryConflicts(t *testing.T) {
	store := openTestStore(t)
	ctx := context.Background()
	siren, _ := domain.ParseSIREN("732829320")
	submit := func(repo *Repository, id string, n byte) (Outcome, error) {
		return repo.Update(ctx, siren, Change{Decide: func(c *domain.Company, now time.Time) ([]domain.Event, error) {
			return testRequest(t, c, now, id, n)
		}})
	}
	a, b := testRepository(t, store, 16), testRepository(t, store, 1)
	if _, err := submit(b, "r0", 9); err != nil { // b caches version 3
		t.Fatal(err)
	}
	if _, err := submit(a, "r1", 1); err != nil { // a appends behind b's back
		t.Fatal(err)
	}
	if _, err := submit(b, "r2", 2); !errors.Is(err, ErrBusy) {
		t.Fatalf("stale cache, no retry allowed: %v", err)
	}
	// Another repository appends: a's cached state (version 6) is stale,
	// a meets a conflict, reloads and appends after it.
	c := testRepository(t, store, 16)
	if _, err := submit(c, "r3", 3); err != nil {
		t.Fatal(err)
	}
	out, err := submit(a, "r4", 4)
	if err != nil || out.Events[len(out.Events)-1].Version != 12 {
		t.Fatalf("stale cache with retries: %v", err)
	}
}

// A decision refused on an assumed empty stream (a company not cached) is
// checked against the real stream before it is answered.
func TestRepositoryChecksARefusalAgainstTheStore(t *testing.T) {
	store := openTestStore(t)
	ctx := context.Background()
	siren, _ := domain.ParseSIREN("732829320")
	if _, err := testRepository(t, store, 16).Update(ctx, siren, Change{Decide: func(c *domain.Company, now time.Time) ([]domain.Event, error) {
		return testRequest(t, c, now, "r1", 1)
	}}); err != nil {
		t.Fatal(err)
	}
	fresh := testRepository(t, store, 16)
	var versions []uint64
	out, err := fresh.Update(ctx, siren, Change{Decide: func(c *domain.Company, now time.Time) ([]domain.Event, error) {
		versions = append(versions, c.Version())
		if _, ok := c.Request("r1"); !ok {
			return nil, domain.ErrNotFound
		}
		return testRequest(t, c, now, "r2", 2)
	}})
	if err != nil || len(versions) != 2 || versions[0] != 0 || versions[1] != 3 || out.Position != 6 {
		t.Fatalf("decided on versions %v: %v", versions, err)
	}
}
