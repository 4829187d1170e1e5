package httpapi

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/attestation-ledger/attestation-ledger/access"
)

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}

// healthz answers 200 while the process is up.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// opsCaller reports whether the request carries a valid token of a role
// that may read the service's internals (access.ReadOps). A missing or
// invalid token is not an error here: the caller gets the bare answer.
func (s *Server) opsCaller(r *http.Request) bool {
	token, ok := bearerToken(r)
	if !ok {
		return false
	}
	p, err := s.cfg.Verifier.Verify(token)
	return err == nil && slices.Contains(roles(access.ReadOps), p.Role)
}

// readyz answers 200 when the store answers and the other checks (read
// models caught up, no dead letters, ledger self-audit) pass, else 503.
// Anyone (a load balancer) gets {"ready": bool}; an auditor or an admin
// also gets the checks, the projectors and the untrusted events, whose
// errors and volumes say how the service is built and used.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.opsCaller(r) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		ok := true
		if _, err := s.cfg.Store.Head(ctx); err != nil {
			ok = false
		} else if s.cfg.Ready != nil && s.cfg.Ready(ctx) != nil {
			ok = false
		}
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, map[string]any{"ready": ok})
		return
	}
	s.readyzDetailed(w, r)
}

// readyzDetailed is readyz with every check.
func (s *Server) readyzDetailed(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if _, err := s.cfg.Store.Head(ctx); err != nil {
		checks["store"], ok = err.Error(), false
	} else {
		checks["store"] = "ok"
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			checks["readModels"], ok = err.Error(), false
		} else {
			checks["readModels"] = "ok"
		}
	}
	body := map[string]any{"ready": ok, "checks": checks}
	// Events whose provenance does not verify were written by someone
	// other than the ledger (a forged message in the store): no read
	// model uses them; they show here as what they are, an alarm.
	if s.cfg.Untrusted != nil {
		n, first := s.cfg.Untrusted()
		body["untrustedEvents"] = map[string]any{"count": n, "firstPositions": nonNilPositions(first)}
		if n > 0 {
			checks["untrustedEvents"] = fmt.Sprintf("%d events in the store were not written by the ledger (bad or missing provenance); none is used", n)
		}
	}
	// Dead letters show here, without making the service unready: one
	// event a projector could not apply must not take the API down.
	if st, err := s.cfg.ReadModels.Status(ctx); err == nil {
		body["projectors"] = st
		var dead int64
		for _, p := range st {
			dead += p.DeadLetters
		}
		if dead > 0 {
			checks["deadLetters"] = fmt.Sprintf("%d events could not be applied by a projector: see the dead_letters table", dead)
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

func nonNilPositions(p []uint64) []uint64 {
	if p == nil {
		return []uint64{}
	}
	return p
}
