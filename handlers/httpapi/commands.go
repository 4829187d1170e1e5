package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/attestation-ledger/attestation-ledger/access"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/handlers"
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
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if len(key) > maxIdempotencyKey {
			return m, &domain.ValidationError{Errors: []domain.FieldError{{Field: "Idempotency-Key", Message: fmt.Sprintf("must be at most %d bytes", maxIdempotencyKey)}}}
		}
		sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), body...))
		m.IdempotencyKey, m.RequestHash = key, hex.EncodeToString(sum[:])
	}
	return m, nil
}

func (s *Server) submitLoanRequest(w http.ResponseWriter, r *http.Request) error {
	var b loanRequestBody
	raw, err := decodeBody(r, &b)
	if err != nil {
		return err
	}
	in, err := b.toSubmit(domain.DateOf(s.cfg.Now().In(paris)))
	if err != nil {
		return err
	}
	if err := access.CheckOwned(who(r), access.SubmitLoanRequest, in.SIREN.String(), in.Bank.String()); err != nil {
		return err
	}
	m, err := meta(r, raw)
	if err != nil {
		return err
	}
	v, err := s.cfg.Commands.SubmitLoanRequest(r.Context(), m, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
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
