package workload

import (
	"testing"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

func TestGeneratedCompaniesAreValidAndMostlyMicro(t *testing.T) {
	g := New(1)
	micro := 0
	const n = 5000
	for i := 0; i < n; i++ {
		c := g.Company()
		if _, err := domain.ParseSIREN(c.SIREN); err != nil {
			t.Fatalf("invalid SIREN %s: %v", c.SIREN, err)
		}
		if _, err := domain.ParseNAF(c.Profile["nafCode"].(string)); err != nil {
			t.Fatal(err)
		}
		if _, err := domain.ParseRegion(c.Profile["regionCode"].(string)); err != nil {
			t.Fatal(err)
		}
		if _, ok := domain.LegalFormCode(c.Profile["legalForm"].(string)); !ok {
			t.Fatalf("legal form %q is not on the closed list", c.Profile["legalForm"])
		}
		for _, r := range g.Requests(c) {
			if _, err := domain.ParseBankCode(r.BankCode); err != nil || r.AmountCents <= 0 {
				t.Fatalf("bad request %+v", r)
			}
			if d := domain.MustDate(r.RequestedOn); d.Before(domain.MustDate("2020-03-25")) || d.After(domain.ProgrammeEnd) {
				t.Fatalf("date %s", r.RequestedOn)
			}
		}
		if c.Kind == "micro" {
			micro++
		}
	}
	if share := float64(micro) / n; share < 0.87 || share > 0.93 {
		t.Fatalf("micro share %.3f, want about 0.90", share)
	}
}

func TestSameSeedSameWorkload(t *testing.T) {
	a, b := New(7), New(7)
	for i := 0; i < 100; i++ {
		if a.Company().SIREN != b.Company().SIREN {
			t.Fatal("not deterministic")
		}
	}
}
