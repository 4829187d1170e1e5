package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/journal"
)

// The API's security events reach the security journal: failures and
// denials each time, reads of a company's file, admin actions; and "who
// looked at my file" answers the owner company (a staff member's identity
// hidden) and auditors from it, newest first, and nobody else.
func TestSecurityEventsAreJournaledAndTheCompanySeesWhoLooked(t *testing.T) {
	a, err := app.Start(t.Context(), app.Config{DataDir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	hs := httptest.NewServer(a.Handler)
	defer hs.Close()
	tok := func(role domain.Role, sub string) string {
		s, err := a.Signer.Issue(auth.Principal{Role: role, Subject: sub}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	bank, owner, other := tok(domain.RoleBank, "30004"), tok(domain.RoleCompany, "732829320"), tok(domain.RoleCompany, "552100554")
	auditor, admin := tok(domain.RoleAuditor, "alice"), tok(domain.RoleAdmin, "ops")
	do := func(method, path, token, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
			}
		}
		return resp.StatusCode
	}
	var created struct {
		Position    uint64
		Attestation struct{ Number string }
	}
	body := `{"siren":"732829320","bankCode":"30004","amountCents":1000000,"requestedOn":"2020-05-04","company":{"name":"Boulangerie Martin","legalForm":"SAS","nafCode":"10.71C","regionCode":"11","headcount":8,"turnoverCents":85000000,"payrollCents":30000000,"createdOn":"2012-05-14"}}`
	if code := do("POST", "/v1/loan-requests", bank, body, &created); code != 201 {
		t.Fatalf("submit: %d", code)
	}
	n, pos := created.Attestation.Number, created.Position
	wait := "?minPosition=" + itoa(pos)
	if code := do("GET", "/v1/attestations/"+n+wait, auditor, "", nil); code != 200 {
		t.Fatalf("auditor reads the attestation: %d", code)
	}
	if code := do("GET", "/v1/companies/732829320"+wait, bank, "", nil); code != 200 {
		t.Fatalf("bank reads the company: %d", code)
	}
	if code := do("GET", "/v1/attestations/"+n, other, "", nil); code != 404 {
		t.Fatalf("another company reads the attestation: %d, want 404", code)
	}
	do("GET", "/v1/events", "not-a-token", "", nil)
	do("POST", "/v1/admin/revocations", admin, `{"jti":"some-token-id"}`, nil)

	// The owner company sees the reads, newest first; the auditor's
	// identity is hidden from it.
	type entry struct{ Record, Object, View, Role, By string }
	var page struct{ Items []entry }
	deadline := time.Now().Add(15 * time.Second)
	for {
		page.Items = nil
		if code := do("GET", "/v1/companies/732829320/access-log", owner, "", &page); code != 200 {
			t.Fatalf("access log as the owner: %d", code)
		}
		if len(page.Items) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("access log: %+v, want the bank's and the auditor's reads", page.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := []entry{
		{Record: "company", Object: "732829320", View: "record", Role: "bank", By: "30004"},
		{Record: "attestation", Object: n, View: "record", Role: "auditor"},
	}
	for i, w := range want {
		if page.Items[i] != w {
			t.Fatalf("access log item %d: %+v, want %+v", i, page.Items[i], w)
		}
	}
	if code := do("GET", "/v1/companies/732829320/access-log", auditor, "", &page); code != 200 || page.Items[1].By != "alice" {
		t.Fatalf("access log as an auditor: %d %+v", code, page.Items)
	}
	for _, tk := range []string{other, bank} {
		if code := do("GET", "/v1/companies/732829320/access-log", tk, "", nil); code != 404 && code != 403 {
			t.Fatalf("access log as another tenant: %d", code)
		}
	}

	// The failures, the denial and the admin action are in the journal.
	found := map[journal.Action]bool{}
	deadline = time.Now().Add(15 * time.Second)
	for !(found[journal.AuthnFailure] && found[journal.AccessDenied] && found[journal.AdminAction] && found[journal.AuthnSuccess]) {
		if time.Now().After(deadline) {
			t.Fatalf("journaled actions: %v", found)
		}
		for _, act := range []journal.Action{journal.AuthnFailure, journal.AccessDenied, journal.AdminAction, journal.AuthnSuccess} {
			objects := []string{"", "some-token-id", "732829320", n}
			p, err := a.Journal.Query(t.Context(), journal.Query{Objects: objects, Actions: []journal.Action{act}})
			if err != nil {
				t.Fatal(err)
			}
			found[act] = found[act] || len(p.Records) > 0
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// An event the ledger did not write (no provenance: appended straight to
// the store) is journaled as untrusted, named by its position.
func TestUntrustedEventsAreJournaled(t *testing.T) {
	a, err := app.Start(t.Context(), app.Config{DataDir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	res, err := a.Store.Append(t.Context(), "company-356000000", eventstore.Any(), eventstore.NewEvent{
		ID: "forged-1", Type: "attestation.issued", SchemaVersion: 1, OccurredAt: time.Now(),
		Actor: eventstore.Actor{Role: "bank", ID: "30003"}, Data: json.RawMessage(`{"number":"PGE-0000-0000-0000-0000"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	pos := itoa(res.Position)
	deadline := time.Now().Add(15 * time.Second)
	for {
		p, err := a.Journal.Query(t.Context(), journal.Query{Objects: []string{pos}, Actions: []journal.Action{journal.EventUntrusted}})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Records) == 1 && p.Records[0].Detail["stream"] == "company-356000000" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("untrusted event at %s not journaled: %+v", pos, p.Records)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
