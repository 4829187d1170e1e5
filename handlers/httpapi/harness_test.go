package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/app"
	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// service is the whole service (app.Start: the real embedded JetStream
// store, SQLite read models, the verifiable log) in a temp dir, behind an
// httptest server.
type service struct {
	t      testing.TB
	dir    string
	app    *app.App
	store  *jetstream.Store
	rm     *projections.ReadModels
	signer *auth.Signer
	http   *httptest.Server
	stop   func()
}

type serviceOption func(*httpapi.Config)

func startService(t testing.TB, dir string, opts ...serviceOption) *service {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Start(t.Context(), app.Config{DataDir: dir, Logger: logger, HTTP: func(c *httpapi.Config) {
		for _, o := range opts {
			o(c)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Handler)
	s := &service{t: t, dir: dir, app: a, store: a.Store, rm: a.ReadModels, signer: a.Signer, http: hs}
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		hs.Close()
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

func (s *service) token(role domain.Role, subject string) string {
	s.t.Helper()
	tok, err := s.signer.Issue(auth.Principal{Role: role, Subject: subject}, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// response is an HTTP answer with its body.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem decodes a problem answer.
func (r response) problem(t testing.TB) httpapi.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q for status %d: %s", ct, r.status, r.body)
	}
	var p httpapi.Problem
	r.json(t, &p)
	return p
}

// do sends a request with a token ("" for none) and a body (raw bytes,
// or anything else marshalled as JSON), and checks the exchange against
// openapi.json.
func (s *service) do(method, path, token string, body any, headers ...string) response {
	s.t.Helper()
	r, req, resp := s.exchange(method, path, token, body, headers...)
	checkConformance(s.t, req, resp, r.body)
	return r
}

// exchange sends a request like do, without checking it against
// openapi.json, and returns the request and response too.
func (s *service) exchange(method, path, token string, body any, headers ...string) (response, *http.Request, *http.Response) {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.http.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.http.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, req, resp
}

// head returns the log's head position.
func (s *service) head() uint64 {
	s.t.Helper()
	h, err := s.store.Head(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return h
}

// loanRequest is the API.md example body.
func loanRequest(siren, bank string, amount int64, on string) map[string]any {
	return map[string]any{
		"siren": siren, "bankCode": bank, "amountCents": amount, "requestedOn": on,
		"company": map[string]any{
			"name": "Boulangerie Martin", "legalForm": "SAS", "nafCode": "10.71C", "regionCode": "11",
			"headcount": 8, "turnoverCents": 85000000, "balanceSheetCents": 40000000, "payrollCents": 30000000,
			"createdOn": "2012-05-14", "innovative": false,
			"collectiveProceeding": map[string]any{"kind": "none", "openedOn": nil},
		},
	}
}
