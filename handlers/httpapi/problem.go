package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/attestation-ledger/attestation-ledger/access"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Problem is an RFC 9457 problem document.
//
// WARNING: the JSON names are a public contract (docs/API.md).
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

// Sentinels of transport-level errors, each with its kind.
var (
	errForbidden        = errs.New(errs.Forbidden, "your role may not do this")
	errTooLarge         = errs.New(errs.TooLarge, "request body larger than 1 MiB")
	errUnsupportedMedia = errs.New(errs.UnsupportedMedia, "request body must be application/json")
	errTooBusy          = errs.New(errs.TooBusy, "too many requests in flight")
	errNotCaughtUp      = errs.New(errs.Unavailable, "read models have not reached minPosition in time")
	errMethod           = errs.New(errs.MethodNotAllowed, "method not allowed")
	// errWritten marks an error met after the response was started: it can
	// only be logged.
	errWritten = errors.New("response already started")
)

// problemSpec is how one kind of error is answered.
type problemSpec struct {
	status int
	title  string
	// detail, when set, replaces the error's own text (which may say more
	// than a client should read).
	detail string
	// retryAfter, in seconds, is sent as the Retry-After header.
	retryAfter int
}

// problems is the one table from the kinds of error (internal/errs) to
// statuses: no other code chooses a status for an error.
var problems = map[errs.Kind]problemSpec{
	errs.Invalid:          {status: http.StatusBadRequest, title: "Invalid request"},
	errs.Unauthenticated:  {status: http.StatusUnauthorized, title: "Missing or invalid token", detail: "send Authorization: Bearer <token> with a valid, unexpired token"},
	errs.Forbidden:        {status: http.StatusForbidden, title: "Forbidden"},
	errs.NotFound:         {status: http.StatusNotFound, title: "Not found", detail: "no such resource"},
	errs.Conflict:         {status: http.StatusConflict, title: "State conflict"},
	errs.TooLarge:         {status: http.StatusRequestEntityTooLarge, title: "Request body too large"},
	errs.UnsupportedMedia: {status: http.StatusUnsupportedMediaType, title: "Unsupported media type"},
	errs.MethodNotAllowed: {status: http.StatusMethodNotAllowed, title: "Method not allowed"},
	errs.TooBusy:          {status: http.StatusTooManyRequests, title: "Too many requests", retryAfter: 1},
	// The detail of a 503 is generic: the error (a NATS or SQL one) says
	// how the service is built, which a client need not read; it goes to
	// the log with the request id. safeDetails lists the exceptions.
	errs.Unavailable: {status: http.StatusServiceUnavailable, title: "Service unavailable", retryAfter: 1,
		detail: "the service cannot answer now; retry later, and quote the request id if it persists"},
	errs.Internal: {status: http.StatusInternalServerError, title: "Internal error", detail: "an unexpected error occurred; quote the request id"},
}

// titles refines the title of a problem whose error carries a finer code.
var titles = map[string]string{
	"idempotency-key-reused": "Idempotency key reused",
}

// safeDetails are errors whose own text is the detail even where the kind
// has a generic one: the transport's own messages, which say what the
// client can do.
var safeDetails = []error{errNotCaughtUp}

// problemOf maps an error to its problem through the kind it carries.
func problemOf(err error) Problem {
	kind := errs.KindOf(err)
	spec, ok := problems[kind]
	if !ok {
		kind, spec = errs.Internal, problems[errs.Internal]
	}
	code := errs.CodeOf(err)
	if kind == errs.Internal {
		code = string(errs.Internal)
	}
	p := Problem{Type: problemType + code, Title: spec.title, Status: spec.status, Detail: spec.detail, retryAfter: spec.retryAfter}
	if t, ok := titles[code]; ok {
		p.Title = t
	}
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		p.Detail, p.Errors = "one or more fields are invalid", ve.Errors
	case p.Detail == "":
		p.Detail = err.Error()
	}
	for _, safe := range safeDetails {
		if errors.Is(err, safe) {
			p.Detail = safe.Error()
		}
	}
	return p
}

// withRequest fills the problem's instance and request id from r.
func withRequest(r *http.Request, p Problem) Problem {
	p.Instance = r.URL.Path
	p.RequestID = requestIDOf(r.Context())
	return p
}

// writeError answers with the problem of err, and logs server errors
// through the server's logger (loggerOf).
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errWritten) {
		loggerOf(r.Context()).ErrorContext(r.Context(), "response cut short", "path", r.URL.Path, "request_id", requestIDOf(r.Context()), "err", err)
		return
	}
	p := withRequest(r, problemOf(err))
	// A handler's refusal of an authenticated caller is a security event:
	// a 403, or the 404 that hides another tenant's resource.
	if sec, who := securityOf(r.Context()), principalOf(r.Context()); sec != nil && who.Role != "" {
		switch {
		case p.Status == http.StatusForbidden:
			sec.emit(r, "denial", ResultForbidden, p.Status, who)
		case p.Status == http.StatusNotFound && errors.Is(err, access.ErrHidden):
			sec.emit(r, "denial", ResultHidden, p.Status, who)
		}
	}
	if p.Status >= 500 {
		loggerOf(r.Context()).ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "request_id", p.RequestID, "status", p.Status, "err", err)
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
