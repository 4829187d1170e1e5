package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/attestation-ledger/attestation-ledger/access"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/handlers"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// paris is the zone of the programme's business dates.
var paris = mustLoadLocation("Europe/Paris")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("load %s (is time/tzdata linked?): %v", name, err))
	}
	return loc
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 200

// meta builds a command's metadata from the request: the caller, the
// request id and, if sent, the idempotency key with a digest of the body.
func meta(r *http.Request, body []byte) (handlers.Meta, error) {
	m := handlers.Meta{Actor: principalOf(r.Context()).Actor(), CorrelationID: requestIDOf(r.Context())}
	return withKey(m, r.Header.Get("Idempotency-Key"), "Idempotency-Key", r.Method+" "+r.URL.Path, body)
}

// withKey adds an idempotency key (none when empty) to a command's
// metadata, with the digest of the route and body it was sent with; field
// names the key's place in the request, for the error of an over-long one.
func withKey(m handlers.Meta, key, field, route string, body []byte) (handlers.Meta, error) {
	if key == "" {
		return m, nil
	}
	if len(key) > maxIdempotencyKey {
		return m, &domain.ValidationError{Errors: []domain.FieldError{{Field: field, Message: fmt.Sprintf("must be at most %d bytes", maxIdempotencyKey)}}}
	}
	sum := sha256.Sum256(append([]byte(route+"\n"), body...))
	m.IdempotencyKey, m.RequestHash = key, hex.EncodeToString(sum[:])
	return m, nil
}

// submitRoute is the route whose body a loan request is: a batch line's
// key is digested with it, so that a key means the same request whether
// it came alone or in a batch.
const submitRoute = http.MethodPost + " /v1/loan-requests"

func (s *Server) submitLoanRequest(w http.ResponseWriter, r *http.Request) error {
	raw, err := readJSONBody(r)
	if err != nil {
		return err
	}
	v, err := s.submit(r.Context(), who(r), raw, func() (handlers.Meta, error) { return meta(r, raw) })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// submit decodes and checks one loan request body (POST /v1/loan-requests,
// or a batch line's request) and runs it as who: the body strictly
// decoded, its fields validated, the caller's right to submit for its
// SIREN or bank code, then the metadata (where an over-long key is
// refused) and the command.
func (s *Server) submit(ctx context.Context, who domain.Actor, raw []byte, meta func() (handlers.Meta, error)) (views.LoanRequestView, error) {
	var b loanRequestBody
	if err := decodeStrict(raw, &b); err != nil {
		return views.LoanRequestView{}, err
	}
	in, err := b.toSubmit(domain.DateOf(s.cfg.Now().In(paris)))
	if err != nil {
		return views.LoanRequestView{}, err
	}
	if err := access.CheckOwned(who, access.SubmitLoanRequest, in.SIREN.String(), in.Bank.String()); err != nil {
		return views.LoanRequestView{}, err
	}
	m, err := meta()
	if err != nil {
		return views.LoanRequestView{}, err
	}
	return s.cfg.Commands.SubmitLoanRequest(ctx, m, in)
}

func (s *Server) recordStateDecision(w http.ResponseWriter, r *http.Request) error {
	var b stateDecisionBody
	raw, err := decodeBody(r, &b)
	if err != nil {
		return err
	}
	in, err := b.toCommand(r.PathValue("requestId"))
	if err != nil {
		return err
	}
	m, err := meta(r, raw)
	if err != nil {
		return err
	}
	v, err := s.cfg.Commands.RecordStateDecision(r.Context(), m, in)
	if err != nil {
		return err
	}
	recordAdmin(r, "state-decision", r.PathValue("requestId"))
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) grantLoan(w http.ResponseWriter, r *http.Request) error {
	n, err := domain.ParseAttestationNumber(r.PathValue("number"))
	if err != nil {
		return err
	}
	var b grantBody
	raw, err := decodeBody(r, &b)
	if err != nil {
		return err
	}
	in, err := b.toCommand(n)
	if err != nil {
		return err
	}
	m, err := meta(r, raw)
	if err != nil {
		return err
	}
	v, err := s.cfg.Commands.GrantLoan(r.Context(), m, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) cancelAttestation(w http.ResponseWriter, r *http.Request) error {
	n, err := domain.ParseAttestationNumber(r.PathValue("number"))
	if err != nil {
		return err
	}
	var b cancelBody
	raw, err := decodeBody(r, &b)
	if err != nil {
		return err
	}
	m, err := meta(r, raw)
	if err != nil {
		return err
	}
	v, err := s.cfg.Commands.CancelAttestation(r.Context(), m, handlers.CancelAttestation{Number: n, Reason: freeText(b.Reason)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
