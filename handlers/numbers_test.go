package handlers

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// An issued number is indexed after the append, in the background; events
// that issue nothing write nothing; a number another company holds keeps
// its first entry and counts as a failure.
func TestIndexIssued(t *testing.T) {
	store := openTestStore(t)
	ctx := context.Background()
	index, err := store.AttestationIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &Commands{cfg: Config{}, index: index, metrics: m}
	h.cfg.setDefaults()
	h.log = h.cfg.Logger
	n := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{1, 2, 3})
	other := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{4, 5, 6})

	h.indexIssued(ctx, "company-732829320", n, []domain.Event{domain.LoanRequestSubmitted{RequestID: "r1"}})
	h.indexIssued(ctx, "company-732829320", n, []domain.Event{domain.AttestationIssued{Number: other}})
	h.WaitIndexed()
	if _, ok, err := index.Lookup(ctx, n.String()); err != nil || ok {
		t.Fatalf("indexed without issuing it: %v %v", ok, err)
	}
	if _, ok, _ := index.Lookup(ctx, other.String()); ok {
		t.Fatal("indexed a number the command did not draw")
	}

	h.indexIssued(ctx, "company-732829320", n, []domain.Event{domain.LoanRequestSubmitted{RequestID: "r1"}, domain.AttestationIssued{Number: n}})
	h.WaitIndexed()
	if got, ok, err := index.Lookup(ctx, n.String()); err != nil || !ok || got != "company-732829320" {
		t.Fatalf("index after the issue: %q %v %v", got, ok, err)
	}
	if f := testutil.ToFloat64(m.indexFailures); f != 0 {
		t.Fatalf("%v failures", f)
	}
	h.indexIssued(ctx, "company-552100554", n, []domain.Event{domain.AttestationIssued{Number: n}})
	h.WaitIndexed()
	if got, _, _ := index.Lookup(ctx, n.String()); got != "company-732829320" {
		t.Fatalf("a second company took the entry: %q", got)
	}
	if f := testutil.ToFloat64(m.indexFailures); f != 1 {
		t.Fatalf("%v failures counted, want 1", f)
	}
}
