package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// serveOnce starts the service in dir, submits one loan request (three
// events), waits for a checkpoint covering them and stops.
func serveOnce(t *testing.T, dir string) integrity.SignedCheckpoint {
	t.Helper()
	a, err := app.Start(t.Context(), app.Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	submitTo(t, a)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cp, err := a.Ledger.WaitCheckpoint(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// submitTo submits one loan request (three events) to the service.
func submitTo(t *testing.T, a *app.App) {
	t.Helper()
	hs := httptest.NewServer(a.Handler)
	defer hs.Close()
	tok, _ := a.Signer.Issue(auth.Principal{Role: domain.RoleBank, Subject: "30004"}, time.Hour)
	body := `{"siren":"732829320","bankCode":"30004","amountCents":1000,"requestedOn":"2020-05-04","company":{"name":"B","legalForm":"SAS","nafCode":"10.71C","regionCode":"11","headcount":1,"turnoverCents":100000,"payrollCents":1,"createdOn":"2010-01-01"}}`
	req, _ := http.NewRequest("POST", hs.URL+"/v1/loan-requests", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("submit: %v %v", resp, err)
	}
	resp.Body.Close()
}

// A data dir whose event store was emptied (the store deleted, the
// verifiable log kept) is refused at start, with both sides named.
func TestStartRefusesAnEmptiedStore(t *testing.T) {
	dir := t.TempDir()
	cp := serveOnce(t, dir)
	if err := os.RemoveAll(datadir.New(dir).Store); err != nil {
		t.Fatal(err)
	}
	a, err := app.Start(t.Context(), app.Config{DataDir: dir, Logger: quiet()})
	if err == nil {
		a.Close()
		t.Fatal("started on an emptied store")
	}
	if !errors.Is(err, integrity.ErrStoreMismatch) || !strings.Contains(err.Error(), "ends at position 0") ||
		!strings.Contains(err.Error(), "covers 3 events") || !strings.Contains(err.Error(), cp.Root.String()) {
		t.Fatalf("refusal does not name the store and the checkpoint: %v", err)
	}
}

// A data dir whose event store was replaced by another one (as many
// events, or more, but not the same) is refused at start.
func TestStartRefusesAReplacedStore(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	serveOnce(t, dir)
	serveOnce(t, other)
	serveOnce(t, other) // the other store is ahead: its head check passes
	store := datadir.New(dir).Store
	if err := os.RemoveAll(store); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(datadir.New(other).Store, store); err != nil {
		t.Fatal(err)
	}
	a, err := app.Start(t.Context(), app.Config{DataDir: dir, Logger: quiet()})
	if err == nil {
		a.Close()
		t.Fatal("started on a replaced store")
	}
	if !errors.Is(err, integrity.ErrStoreMismatch) || !strings.Contains(err.Error(), "does not reproduce") {
		t.Fatalf("refusal: %v", err)
	}
}

// An intact data dir starts again, and its first self-audit has run
// before serving.
func TestStartAuditsBeforeServing(t *testing.T) {
	dir := t.TempDir()
	serveOnce(t, dir)
	a, err := app.Start(t.Context(), app.Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	res, ok := a.Ledger.LastAudit()
	if !ok || !res.OK() || res.Leaves != 3 || res.CheckpointsChecked == 0 {
		t.Fatalf("no passing audit at start: %+v %v", res, ok)
	}
}
