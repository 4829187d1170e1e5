package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/handlers"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// Problem is an RFC 9457 problem document.
//
// WARNING: the JSON names are a public contract (../shared/API.md).
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Instance  string              `json:"instance,omitempty"`
	RequestID string              `json:"requestId,omitempty"`
	Errors    []domain.FieldError `json:"errors,omitempty"`
	// retryAfter, in seconds, is sent as the Retry-After header.
	retryAfter int
}

// problemType is the base of the problem type URIs.
const problemType = "https://attestation-ledger.example/problems/"

// Sentinels of transport-level errors.
var (
	errForbidden        = errors.New("your role may not do this")
	errTooLarge         = errors.New("request body larger than 1 MiB")
	errUnsupportedMedia = errors.New("request body must be application/json")
	errTooBusy          = errors.New("too many requests in flight")
	errNotCaughtUp      = errors.New("read models have not reached minPosition in time")
	errMethod           = errors.New("method not allowed")
	// errWritten marks an error met after the response was started: it can
	// only be logged.
	errWritten = errors.New("response already started")
)

// problemOf maps an error to its problem: the one place where kinds of
// error become statuses.
func problemOf(err error) Problem {
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		return Problem{Type: problemType + "validation", Title: "Invalid request", Status: http.StatusBadRequest, Detail: "one or more fields are invalid", Errors: ve.Errors}
	case errors.Is(err, domain.ErrInvalid), errors.Is(err, eventstore.ErrInvalidEvent), errors.Is(err, eventstore.ErrEventTooLarge):
		return Problem{Type: problemType + "validation", Title: "Invalid request", Status: http.StatusBadRequest, Detail: err.Error()}
	case errors.Is(err, auth.ErrUnauthenticated):
		return Problem{Type: problemType + "unauthenticated", Title: "Missing or invalid token", Status: http.StatusUnauthorized, Detail: "send Authorization: Bearer <token> with a valid, unexpired token"}
	case errors.Is(err, errForbidden):
		return Problem{Type: problemType + "forbidden", Title: "Forbidden", Status: http.StatusForbidden, Detail: err.Error()}
	case errors.Is(err, domain.ErrNotFound), errors.Is(err, projections.ErrNotFound):
		return Problem{Type: problemType + "not-found", Title: "Not found", Status: http.StatusNotFound, Detail: "no such resource"}
	case errors.Is(err, handlers.ErrIdempotencyMismatch):
		return Problem{Type: problemType + "idempotency-key-reused", Title: "Idempotency key reused", Status: http.StatusConflict, Detail: err.Error()}
	case errors.Is(err, domain.ErrConflict):
		return Problem{Type: problemType + "state-conflict", Title: "State conflict", Status: http.StatusConflict, Detail: err.Error()}
	case errors.Is(err, errMethod):
		return Problem{Type: problemType + "method-not-allowed", Title: "Method not allowed", Status: http.StatusMethodNotAllowed, Detail: err.Error()}
	case errors.Is(err, errTooLarge):
		return Problem{Type: problemType + "too-large", Title: "Request body too large", Status: http.StatusRequestEntityTooLarge, Detail: err.Error()}
	case errors.Is(err, errUnsupportedMedia):
		return Problem{Type: problemType + "unsupported-media-type", Title: "Unsupported media type", Status: http.StatusUnsupportedMediaType, Detail: err.Error()}
	case errors.Is(err, errTooBusy), errors.Is(err, handlers.ErrBusy):
		return Problem{Type: problemType + "too-many-requests", Title: "Too many requests", Status: http.StatusTooManyRequests, Detail: err.Error(), retryAfter: 1}
	case errors.Is(err, errNotCaughtUp), errors.Is(err, eventstore.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return Problem{Type: problemType + "unavailable", Title: "Service unavailable", Status: http.StatusServiceUnavailable, Detail: err.Error(), retryAfter: 1}
	default:
		return Problem{Type: problemType + "internal", Title: "Internal error", Status: http.StatusInternalServerError, Detail: "an unexpected error occurred; quote the request id"}
	}
}

// writeError answers with the problem of err, and logs server errors.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errWritten) {
		slog.ErrorContext(r.Context(), "response cut short", "path", r.URL.Path, "request_id", requestIDOf(r.Context()), "err", err)
		return
	}
	p := problemOf(err)
	p.Instance = r.URL.Path
	p.RequestID = requestIDOf(r.Context())
	if p.Status >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "request_id", p.RequestID, "status", p.Status, "err", err)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
