package projections

import (
	"errors"
	"slices"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// walk lists every page of f and returns the attestation numbers in order.
func walk(t *testing.T, rm *ReadModels, f AttestationFilter, between func()) []string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		page, err := rm.ListAttestations(t.Context(), f)
		if err != nil {
			t.Fatalf("list %+v: %v", f, err)
		}
		for _, v := range page.Items {
			got = append(got, v.Number)
		}
		if page.NextCursor == "" {
			return got
		}
		if len(page.Items) != max(f.Limit, 1) && f.Limit != 0 {
			t.Fatalf("a page before the last has %d items, want %d", len(page.Items), f.Limit)
		}
		f.Cursor = page.NextCursor
		if between != nil {
			between()
		}
		if pages > 10_000 {
			t.Fatal("endless pages")
		}
	}
}

// Walking the cursors visits every matching attestation exactly once, in
// issue order, for every filter, even while new attestations are issued
// between pages.
func TestListAttestationsCursorPagination(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 8)
	h.run(t.Context(), 1500)
	rm := openRM(t, t.TempDir(), store, nil)
	runRM(t, rm)
	waitHead(t, rm, store)

	// The expected order: by issue position.
	type att struct {
		domain.Attestation
		pos uint64
	}
	var all []att
	for _, c := range h.companies {
		for _, a := range c.Attestations() {
			all = append(all, att{a, 0})
		}
	}
	// The issue position of each attestation from the store.
	envs, _ := store.ReadAll(t.Context(), 1, 1<<30)
	issuedAt := map[string]uint64{}
	for _, env := range envs {
		if e, err := Decode(env); err == nil {
			if iss, ok := e.(domain.AttestationIssued); ok {
				issuedAt[iss.Number.String()] = env.Position
			}
		}
	}
	for i := range all {
		all[i].pos = issuedAt[all[i].Number.String()]
	}
	slices.SortFunc(all, func(a, b att) int { return int(a.pos) - int(b.pos) })
	if len(all) < 500 {
		t.Fatalf("only %d attestations", len(all))
	}

	midday := domain.DateOf(all[len(all)/2].IssuedAt)
	for _, f := range []AttestationFilter{
		{Limit: 7},
		{},
		{Limit: 1000},
		{BankCode: "30004", Limit: 13},
		{SIREN: all[0].SIREN.String(), Limit: 1},
		{Status: "loan_granted", Limit: 50},
		{BankCode: "30003", Status: "cancelled", Limit: 2},
		{IssuedFrom: &midday, Limit: 33},
		{IssuedTo: &midday, Limit: 33},
		{IssuedFrom: &midday, IssuedTo: &midday, BankCode: "20041", Limit: 3},
	} {
		var want []string
		for _, a := range all {
			day := domain.DateOf(a.IssuedAt.UTC())
			if (f.SIREN == "" || a.SIREN.String() == f.SIREN) && (f.BankCode == "" || a.Bank.String() == f.BankCode) &&
				(f.Status == "" || string(a.Status) == f.Status) &&
				(f.IssuedFrom == nil || !day.Before(*f.IssuedFrom)) && (f.IssuedTo == nil || !day.After(*f.IssuedTo)) {
				want = append(want, a.Number.String())
			}
		}
		if got := walk(t, rm, f, nil); !slices.Equal(got, want) {
			t.Errorf("filter %+v: %d attestations, want %d (first %v, want %v)", f, len(got), len(want), head(got), head(want))
		}
	}

	// New attestations issued while a client walks the pages come after
	// everything it has seen: no duplicates, no gaps.
	before := len(all)
	got := walk(t, rm, AttestationFilter{Limit: 100}, func() {
		h.run(t.Context(), 20)
		waitHead(t, rm, store)
	})
	seen := map[string]bool{}
	for _, n := range got {
		if seen[n] {
			t.Fatalf("attestation %s listed twice", n)
		}
		seen[n] = true
	}
	for _, a := range all {
		if !seen[a.Number.String()] {
			t.Fatalf("attestation %s skipped", a.Number)
		}
	}
	if len(got) <= before {
		t.Errorf("listed %d, no attestation issued during the walk", len(got))
	}

	for _, f := range []AttestationFilter{{Limit: -1}, {Limit: 1001}, {Cursor: "nope"}, {Cursor: "YTE6eA"}} {
		if _, err := rm.ListAttestations(t.Context(), f); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("filter %+v: %v, want ErrInvalidQuery", f, err)
		}
	}
}

func head(s []string) []string { return s[:min(3, len(s))] }
