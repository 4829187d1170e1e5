package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// A forged event written straight into the store (a client of the NATS
// server with no provenance key) is evidence, not a fact: lookups, reports,
// the company's ceiling and proofs ignore it; /readyz and the metric count
// it; it stays a leaf of the verifiable log.
func TestForgedEventAppearsNowhereButAsEvidence(t *testing.T) {
	s := startService(t, t.TempDir())
	ctx := context.Background()
	regulator := s.token(domain.RoleRegulator, "acpr")
	auditor := s.token(domain.RoleAuditor, "alice")

	r := s.do("POST", "/v1/loan-requests", s.token(domain.RoleBank, bnp), loanRequest(siren, bnp, 15000000, "2020-03-27"))
	if r.status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	before := s.do("GET", "/v1/reports/pge?groupBy=region&minPosition="+fmt.Sprint(s.head()), regulator, nil)

	// €9 bn attested to another company, as a forger would write it.
	forged := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{9, 9, 9, 9})
	data, err := json.Marshal(map[string]any{
		"requestId": "01FORGED000000000000000000", "siren": siren2, "bankCode": sg, "number": forged.String(),
		"amountCents": 900000000000, "guaranteeRateBps": 9000, "feeScheduleBps": []int{25, 50, 50, 100, 100, 100},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.store.Append(ctx, "company-"+siren2, eventstore.Any(), eventstore.NewEvent{
		ID: "forged-1", Type: "attestation.issued", SchemaVersion: 1, OccurredAt: time.Now(),
		Actor: eventstore.Actor{Role: "bank", ID: sg}, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	pos := res.Position

	// The read models pass it (their checkpoints reach it) without using it.
	if g := s.do("GET", fmt.Sprintf("/v1/attestations/%s?minPosition=%d", forged, pos), auditor, nil); g.status != http.StatusNotFound {
		t.Fatalf("forged attestation looked up: %d %s", g.status, g.body)
	}
	if g := s.do("GET", fmt.Sprintf("/v1/attestations/%s/proof", forged), auditor, nil); g.status != http.StatusNotFound {
		t.Fatalf("forged attestation proved: %d %s", g.status, g.body)
	}
	after := s.do("GET", fmt.Sprintf("/v1/reports/pge?groupBy=region&minPosition=%d", pos), regulator, nil)
	if string(after.body) == "" || stripPositions(after.body) != stripPositions(before.body) {
		t.Fatalf("the report moved:\nbefore %s\nafter  %s", before.body, after.body)
	}
	// The company's ceiling is untouched: a request for it is decided on
	// its real state (the forged 9 bn would exceed any ceiling).
	r2 := s.do("POST", "/v1/loan-requests", s.token(domain.RoleBank, sg), loanRequest(siren2, sg, 1000000, "2020-03-27"))
	var v projections.LoanRequestView
	r2.json(t, &v)
	if r2.status != http.StatusCreated || v.Status != "attested" {
		t.Fatalf("request for the forged company: %d %s", r2.status, r2.body)
	}

	var ready struct {
		UntrustedEvents struct {
			Count          int      `json:"count"`
			FirstPositions []uint64 `json:"firstPositions"`
		} `json:"untrustedEvents"`
	}
	s.do("GET", "/readyz", s.token(domain.RoleAuditor, "ops"), nil).json(t, &ready)
	if ready.UntrustedEvents.Count != 1 || len(ready.UntrustedEvents.FirstPositions) != 1 || ready.UntrustedEvents.FirstPositions[0] != pos {
		t.Fatalf("readyz untrustedEvents: %+v, want the forged position %d", ready.UntrustedEvents, pos)
	}
	metrics := s.do("GET", "/metrics", s.token(domain.RoleAuditor, "ops"), nil)
	if !strings.Contains(string(metrics.body), "ledger_untrusted_events_total 1") {
		t.Fatal("metric ledger_untrusted_events_total is not 1")
	}
	// Evidence: the event is a leaf of the verifiable log.
	entries := s.do("GET", fmt.Sprintf("/v1/ledger/entries?from=%d&limit=1", pos-1), auditor, nil)
	if entries.status != http.StatusOK || !strings.Contains(string(entries.body), `"forged-1"`) {
		t.Fatalf("the forged event is not in the entries: %d %s", entries.status, entries.body)
	}
}

// stripPositions drops the position fields a report carries, which move
// with the log while the figures do not.
func stripPositions(b []byte) string {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return string(b)
	}
	for _, k := range []string{"logPosition", "treeSize", "rootHash", "position"} {
		delete(m, k)
	}
	out, _ := json.Marshal(m)
	return string(out)
}
