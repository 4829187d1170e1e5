package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// rebuildLine is one line of the NDJSON answer of a projection rebuild:
// progress lines, then a final line with done set (and the result or the
// error).
type rebuildLine struct {
	Done     bool   `json:"done"`
	Applied  uint64 `json:"applied"`
	Total    uint64 `json:"total"`
	Position uint64 `json:"position,omitempty"`
	// DeadLetters is how many events a projector could not apply.
	DeadLetters int64 `json:"deadLetters,omitempty"`
	// Seconds is how long the rebuild took.
	Seconds float64 `json:"seconds,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// rebuilding admits one rebuild at a time.
var rebuilding sync.Mutex

// rebuildProjections rebuilds every read model from the log into a fresh
// database and swaps it in while queries go on being answered. The answer
// streams progress as NDJSON so that `ledger projections rebuild` can draw
// a progress bar.
func (s *Server) rebuildProjections(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength != 0 {
		var empty struct{}
		if _, err := decodeBody(r, &empty); err != nil {
			return err
		}
	}
	// A rebuild needs no replay (it has the same effect however often it
	// runs), but the key is held to the bound every POST documents.
	if key := r.Header.Get("Idempotency-Key"); len(key) > maxIdempotencyKey {
		return badParam("Idempotency-Key", fmt.Sprintf("must be at most %d bytes", maxIdempotencyKey))
	}
	if !rebuilding.TryLock() {
		return fmt.Errorf("%w: a rebuild is already running", domain.ErrConflict)
	}
	defer rebuilding.Unlock()
	p := principalOf(r.Context())
	s.log.InfoContext(r.Context(), "admin action: projections rebuild", "event", "admin.projections.rebuild", "subject", p.Subject, "request_id", requestIDOf(r.Context()))
	recordAdmin(r, "projections-rebuild", "read-models")
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	var last time.Time
	res, err := s.cfg.ReadModels.Rebuild(r.Context(), func(done, total uint64) {
		if time.Since(last) < 200*time.Millisecond && done < total {
			return
		}
		last = time.Now()
		_ = enc.Encode(rebuildLine{Applied: done, Total: total})
		if flusher != nil {
			flusher.Flush()
		}
	})
	final := rebuildLine{Done: true, Applied: res.Events, Total: res.Events, Position: res.Position, DeadLetters: res.DeadLetters, Seconds: res.Duration.Seconds()}
	if err != nil {
		final.Error = err.Error()
		s.log.ErrorContext(r.Context(), "projections rebuild failed", "request_id", requestIDOf(r.Context()), "err", err)
	}
	_ = enc.Encode(final)
	return nil
}
