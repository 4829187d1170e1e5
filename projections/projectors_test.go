package projections

import (
	"errors"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// Every projector's rows match the aggregates that took the decisions.
func TestProjectorsMatchTheDomain(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 1)
	h.run(t.Context(), 400)
	rm := openRM(t, t.TempDir(), store, func(c *Config) { c.MaxBatch = 64 })
	runRM(t, rm)
	waitHead(t, rm, store)
	ctx := t.Context()

	var statuses = map[string]int{}
	for _, c := range h.companies {
		for _, req := range c.Requests() {
			v, err := rm.LoanRequest(ctx, req.ID)
			if err != nil {
				t.Fatalf("request %s: %v", req.ID, err)
			}
			statuses[string(req.Status)]++
			if v.Status != string(req.Status) || v.SIREN != req.SIREN.String() || v.BankCode != req.Bank.String() ||
				v.AmountCents != req.Amount || v.RequestedOn != req.RequestedOn.String() ||
				v.CeilingCents != req.Ceiling || v.RemainingCeilingCents != req.RemainingCeiling ||
				v.RulesVersion != req.RulesVersion || v.SizeCategory != req.SizeCategory ||
				v.RegionCode != req.Profile.Region.String() || v.Section != string(req.Profile.NAF.Section()) ||
				len(v.Reasons) != len(req.Reasons) {
				t.Fatalf("request %s:\n view %+v\n want %+v", req.ID, v, req)
			}
			if (v.Attestation != nil) != !req.Attestation.IsZero() ||
				(v.Attestation != nil && v.Attestation.Number != req.Attestation.String()) {
				t.Fatalf("request %s: attestation %+v, want %s", req.ID, v.Attestation, req.Attestation)
			}
		}
		ceiling, attested := c.Ceiling(), domain.Cents(0)
		_, attested = c.Active()
		cv, err := rm.Company(ctx, c.SIREN().String())
		if _, ok := c.Profile(); !ok {
			// No attested request: no company record, whatever was requested.
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("company %s without an attested request: %+v %v", c.SIREN(), cv, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("company %s: %v", c.SIREN(), err)
		}
		if cv.CeilingCents != ceiling || cv.AttestedCents != attested || cv.RemainingCeilingCents != max(ceiling-attested, 0) ||
			len(cv.Attestations) != len(c.Attestations()) {
			t.Fatalf("company %s: %+v, want ceiling %d attested %d, %d attestations", c.SIREN(), cv, ceiling, attested, len(c.Attestations()))
		}
		p, _ := c.Profile()
		if cv.Name != p.Name || cv.SizeCategory != p.SizeCategory() {
			t.Fatalf("company %s: %+v, profile %+v", c.SIREN(), cv, p)
		}
		for i, a := range c.Attestations() {
			if cv.Attestations[i] != a.Number.String() {
				t.Fatalf("company %s attestation %d: %s, want %s", c.SIREN(), i, cv.Attestations[i], a.Number)
			}
			v, err := rm.Attestation(ctx, a.Number.String())
			if err != nil {
				t.Fatalf("attestation %s: %v", a.Number, err)
			}
			statuses["att:"+string(a.Status)]++
			if v.Status != string(a.Status) || v.SIREN != a.SIREN.String() || v.BankCode != a.Bank.String() ||
				v.AmountCents != a.Amount || v.RequestID != a.RequestID || v.GuaranteeRateBps != a.GuaranteeRate ||
				!v.IssuedAt.Equal(a.IssuedAt) || v.DecreeRef != a.DecreeRef {
				t.Fatalf("attestation %s:\n view %+v\n want %+v", a.Number, v, a)
			}
			switch a.Status {
			case domain.AttestationGrantedStatus:
				if v.GrantedAmountCents == nil || *v.GrantedAmountCents != a.GrantedAmount || *v.DurationMonths != a.DurationMonths ||
					*v.GrantedOn != a.GrantedOn.String() {
					t.Fatalf("attestation %s: grant %+v, want %+v", a.Number, v, a)
				}
			case domain.AttestationCancelledStatus:
				if v.CancelledAt == nil || !v.CancelledAt.Equal(a.CancelledAt) || *v.CancelReason != a.CancelReason {
					t.Fatalf("attestation %s: cancellation %+v, want %+v", a.Number, v, a)
				}
			}
			if h := cv.Held[i]; h.BankCode != a.Bank.String() || h.AmountCents != a.Amount || h.Active != a.Active() {
				t.Fatalf("company %s attestation %s held as %+v, want %+v", c.SIREN(), a.Number, h, a)
			}
		}
		banks := map[string]bool{}
		for _, a := range c.Attestations() {
			banks[a.Bank.String()] = true
		}
		for _, b := range testBanks {
			if ok := cv.HeldBy(b); ok != banks[b] {
				t.Fatalf("bank %s holds an attestation for %s: %v, want %v", b, c.SIREN(), ok, banks[b])
			}
			own := cv.ForBank(b)
			var amount domain.Cents
			n := 0
			for _, a := range c.Attestations() {
				if a.Bank.String() == b {
					n++
					if a.Active() {
						amount += a.Amount
					}
				}
			}
			if len(own.Attestations) != n || own.AttestedCents != amount {
				t.Fatalf("company %s for bank %s: %+v, want %d attestations for %s", c.SIREN(), b, own, n, amount)
			}
			// What the bank is shown of the company: what its first
			// attested request declared, and that ceiling's headroom.
			if n == 0 {
				continue
			}
			var declared domain.CompanyProfile
			for _, a := range c.Attestations() {
				if a.Bank.String() == b {
					r, _ := c.Request(a.RequestID)
					declared = r.Profile
					break
				}
			}
			if own.Name != declared.Name || own.CeilingCents != domain.Ceiling(declared) ||
				own.RemainingCeilingCents != max(domain.Ceiling(declared)-attested, 0) {
				t.Fatalf("company %s for bank %s: %+v, declared %+v", c.SIREN(), b, own, declared)
			}
		}
	}
	t.Logf("outcomes: %v", statuses)
	for _, s := range []string{"attested", "rejected", "pending_state_review", "att:issued", "att:loan_granted", "att:cancelled"} {
		if statuses[s] == 0 {
			t.Errorf("the history has no %s: the generator should cover every outcome", s)
		}
	}

	if _, err := rm.LoanRequest(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown request: %v", err)
	}
	if _, err := rm.Attestation(ctx, "PGE-0000-0000-0000-0000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown attestation: %v", err)
	}
	if _, err := rm.Company(ctx, "732829320"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown company: %v", err)
	}
}
