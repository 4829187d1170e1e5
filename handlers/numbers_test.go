package handlers

import (
	"context"
	"errors"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// A reservation is awaited before the append of the attestation it
// numbers; withdrawn by a decision that issued nothing, it is claimed
// again by a later decision that issues it; a number another company
// claimed first is refused.
func TestReservation(t *testing.T) {
	store := openTestStore(t)
	ctx := context.Background()
	index, err := store.AttestationIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := &Commands{cfg: Config{Entropy: fixedEntropy(1)}, index: index}
	h.cfg.setDefaults()
	const stream = "company-732829320"
	r, err := h.reserve(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.beforeAppend(ctx, []domain.Event{domain.LoanRequestSubmitted{RequestID: "r1"}}); err != nil || !r.withdrawn {
		t.Fatalf("a decision issuing nothing: %v, withdrawn %v", err, r.withdrawn)
	}
	<-r.done
	if err := r.beforeAppend(ctx, []domain.Event{domain.AttestationIssued{Number: r.number}}); err != nil {
		t.Fatalf("issued after a withdrawal: %v", err)
	}
	if got, ok, err := index.Lookup(ctx, r.number.String()); err != nil || !ok || got != stream {
		t.Fatalf("index after the issue: %q %v %v", got, ok, err)
	}
	// The same number drawn for another company: taken.
	other, err := h.reserve(ctx, "company-552100554")
	if err != nil {
		t.Fatal(err)
	}
	if other.number != r.number {
		t.Fatal("fixed entropy drew another number")
	}
	if err := other.beforeAppend(ctx, []domain.Event{domain.AttestationIssued{Number: other.number}}); !errors.Is(err, errNumberTaken) {
		t.Fatalf("a number taken by another company: %v", err)
	}
}

// fixedEntropy reads the same byte for ever.
type fixedEntropy byte

func (f fixedEntropy) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f)
	}
	return len(p), nil
}
