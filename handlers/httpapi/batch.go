package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/handlers"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Bounds of POST /v1/loan-requests/batch (docs/API.md, "Bulk submission").
const (
	// MaxBatchLines is the most lines a batch may hold (413 beyond).
	MaxBatchLines = 1000
	// MaxBatchBytes is the largest batch body (413 beyond): 1,000 lines of
	// the largest realistic request (about 700 bytes) fit four times over.
	MaxBatchBytes = 4 << 20
	// batchWorkers is how many lines of one batch run at once: enough for
	// the store's group commit to append them together, few enough that a
	// bank's batches (Quota.Batches of them at once) stay below the
	// commands in flight its single requests may have.
	batchWorkers = 64
)

var (
	errBatchMedia    = errs.New(errs.UnsupportedMedia, "request body must be application/x-ndjson: one JSON object a line")
	errBatchTooLarge = errs.New(errs.TooLarge, fmt.Sprintf("a batch holds at most %d lines and %d bytes", MaxBatchLines, MaxBatchBytes))
	errBatchEmpty    = &domain.ValidationError{Errors: []domain.FieldError{{Field: "", Message: "the batch holds no line"}}}
)

// batchLine is one line of a batch as sent.
type batchLine struct {
	IdempotencyKey *string         `json:"idempotencyKey"`
	Request        json.RawMessage `json:"request"`
}

// batchResult is one line of a batch's answer.
//
// WARNING: the JSON names are a public contract (docs/API.md).
type batchResult struct {
	Line   int `json:"line"`
	Status int `json:"status"`
	Body   any `json:"body"`
}

// submitBatch is POST /v1/loan-requests/batch: every line is a loan
// request with its own idempotency key, run as POST /v1/loan-requests
// would run it (Server.submit), batchWorkers at a time so that the store
// appends them together; each line's answer is written, in order, once it
// and every line before it are durable. A bad line is that line's 4xx,
// never the batch's: only the batch's own shape (content type, size, line
// count) is refused whole, before anything is appended.
func (s *Server) submitBatch(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-ndjson" {
		return errBatchMedia
	}
	// The header is bounded as on every POST, though each line carries
	// its own key.
	if _, err := meta(r, nil); err != nil {
		return err
	}
	body, err := readBody(r, MaxBatchBytes, errBatchTooLarge)
	if err != nil {
		return err
	}
	lines := splitLines(body)
	if len(bytes.TrimSpace(body)) == 0 {
		return errBatchEmpty
	}
	if len(lines) > MaxBatchLines {
		return errBatchTooLarge
	}
	release, err := s.quota.admitBatch(r)
	if err != nil {
		return err
	}
	defer release()

	results := make([]batchResult, len(lines))
	done := make([]chan struct{}, len(lines))
	// after[i] is the earlier line with the same key, which line i waits
	// for: the first of two lines sharing a key runs first, so that which
	// one is the retry (or the 409) does not depend on scheduling.
	after := make([]int, len(lines))
	seen := map[string]int{}
	for i, l := range lines {
		done[i] = make(chan struct{})
		after[i] = -1
		if key := peekKey(l); key != "" {
			if j, ok := seen[key]; ok {
				after[i] = j
			}
			seen[key] = i
		}
	}
	next := make(chan int)
	for range min(batchWorkers, len(lines)) {
		go func() {
			for i := range next {
				if j := after[i]; j >= 0 {
					<-done[j]
				}
				results[i] = s.runLine(r, i+1, lines[i])
				close(done[i])
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range lines {
			next <- i
		}
	}()

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(batchWriteWindow)) // flush pushes it on
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var failed error
	for i := range lines {
		select {
		case <-done[i]:
		default:
			// Line i is not done: send what is, then wait.
			if failed == nil {
				failed = flush(bw, rc)
			}
			<-done[i]
		}
		if failed == nil {
			failed = enc.Encode(results[i])
		}
	}
	if failed == nil {
		failed = flush(bw, rc)
	}
	if failed != nil {
		return errors.Join(errWritten, failed)
	}
	return nil
}

// batchWriteWindow is how long the answer to a batch may go without
// progress: each flush pushes the server's write deadline (WriteTimeout,
// meant for one answer) that far ahead, so that a long batch that keeps
// answering lines is not cut.
const batchWriteWindow = time.Minute

// flush sends what bw holds to the client, and gives the answer another
// batchWriteWindow.
func flush(bw *bufio.Writer, rc *http.ResponseController) error {
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if err := rc.SetWriteDeadline(time.Now().Add(batchWriteWindow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// runLine runs line n of a batch and returns its answer: 201 and the
// request's view, or the problem of its error (a 5xx is logged as a
// request's would be). A panic is the line's 500, not the server's.
func (s *Server) runLine(r *http.Request, n int, raw []byte) (res batchResult) {
	defer func() {
		if v := recover(); v != nil {
			s.log.ErrorContext(r.Context(), "panic in batch line", "panic", v, "line", n, "request_id", requestIDOf(r.Context()))
			res = s.lineProblem(r, n, errs.Errorf(errs.Internal, "panic: %v", v))
		}
	}()
	l, err := decodeLine(raw)
	if err != nil {
		return s.lineProblem(r, n, err)
	}
	var missing []domain.FieldError
	if l.IdempotencyKey == nil || *l.IdempotencyKey == "" {
		missing = append(missing, domain.FieldError{Field: "idempotencyKey", Message: "is required"})
	}
	if len(l.Request) == 0 || bytes.Equal(l.Request, []byte("null")) {
		missing = append(missing, domain.FieldError{Field: "request", Message: "is required"})
	}
	if missing != nil {
		return s.lineProblem(r, n, &domain.ValidationError{Errors: missing})
	}
	base := handlers.Meta{Actor: who(r), CorrelationID: requestIDOf(r.Context())}
	v, err := s.submit(r.Context(), who(r), l.Request, func() (handlers.Meta, error) {
		return withKey(base, *l.IdempotencyKey, "idempotencyKey", submitRoute, l.Request)
	})
	if err != nil {
		return s.lineProblem(r, n, inRequest(err))
	}
	return batchResult{Line: n, Status: http.StatusCreated, Body: v}
}

// lineProblem is the answer of a line that failed.
func (s *Server) lineProblem(r *http.Request, n int, err error) batchResult {
	p := withRequest(r, problemOf(err))
	if p.Status >= 500 {
		s.log.ErrorContext(r.Context(), "batch line failed", "line", n, "request_id", p.RequestID, "status", p.Status, "err", err)
	}
	return batchResult{Line: n, Status: p.Status, Body: p}
}

// inRequest names a line's invalid fields from the line's root: the
// request's fields are under "request".
func inRequest(err error) error {
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := &domain.ValidationError{Errors: make([]domain.FieldError, len(ve.Errors))}
	for i, f := range ve.Errors {
		switch f.Field {
		case "idempotencyKey":
		case "":
			f.Field = "request"
		default:
			f.Field = "request." + f.Field
		}
		out.Errors[i] = f
	}
	return out
}

// decodeLine reads a line as strictly as a request body. decodeStrict's
// key scan stops at the request (raw bytes to it), whose keys submit
// checks; the line's own keys after it are checked here, skipping the
// values, so that the request is not scanned token by token twice.
func decodeLine(raw []byte) (batchLine, error) {
	var l batchLine
	if err := decodeStrict(raw, &l); err != nil {
		return l, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{': decodeStrict read an object
		return l, jsonError(err)
	}
	seen := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return l, jsonError(err)
		}
		k, _ := t.(string)
		fk := foldKey(k)
		if first, dup := seen[fk]; dup {
			if first == k {
				return l, keyError(k, "is given more than once")
			}
			return l, keyError(k, fmt.Sprintf("is given more than once (also as %q): keys are case-sensitive", first))
		}
		if k != "idempotencyKey" && k != "request" { // another case: encoding/json took it
			return l, keyError(k, "unknown field: keys are case-sensitive")
		}
		seen[fk] = k
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return l, jsonError(err)
		}
	}
	return l, nil
}

// splitLines splits an NDJSON body into its lines: a last line may end
// without a newline, a carriage return before a newline is dropped.
func splitLines(body []byte) [][]byte {
	var lines [][]byte
	for len(body) > 0 {
		line, rest, _ := bytes.Cut(body, []byte("\n"))
		lines = append(lines, bytes.TrimSuffix(line, []byte("\r")))
		body = rest
	}
	return lines
}

// peekKey returns a line's idempotency key, or "" when the line cannot be
// read (it fails on its own then).
func peekKey(line []byte) string {
	var l struct {
		IdempotencyKey string `json:"idempotencyKey"`
	}
	if json.Unmarshal(line, &l) != nil {
		return ""
	}
	return l.IdempotencyKey
}
