package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/attestation-ledger/attestation-ledger/access"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/integrity"
)

// The ledger-integrity endpoints (API.md "Ledger integrity"): signed
// checkpoints, the verifier key, the entries and the proofs.

// maxEntriesPage bounds GET /v1/ledger/entries.
const maxEntriesPage = 10_000

// proofWait bounds how long an attestation proof waits for a checkpoint
// covering the attestation (checkpoints come at least every second).
const proofWait = 5 * time.Second

func writeText(w http.ResponseWriter, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// awaitCheckpoint honours ?minPosition=N on the checkpoint endpoints: it
// returns once a checkpoint covers position N, or errNotCaughtUp after 5 s.
func (s *Server) awaitCheckpoint(r *http.Request) error {
	var f fields
	minPos := intParam(r, &f, "minPosition", 0, 0, 1<<62)
	if err := f.err(); err != nil {
		return err
	}
	// A service just started may not have published its first
	// checkpoint yet: wait for it as for one covering minPosition.
	if _, published := s.cfg.Ledger.Latest(); minPos > 0 || !published {
		release, err := s.quota.admitWait(r)
		if err != nil {
			return err
		}
		defer release()
		ctx, cancel := context.WithTimeout(r.Context(), min(proofWait, s.quota.q.MaxWait))
		defer cancel()
		if _, err := s.cfg.Ledger.WaitCheckpoint(ctx, minPos); err != nil {
			return fmt.Errorf("%w: no checkpoint covers position %d yet", errNotCaughtUp, minPos)
		}
	}
	return nil
}

// getCheckpoint answers the latest signed checkpoint; with minPosition=N,
// it first waits (at most 5 s, else 503) for a checkpoint covering
// position N.
func (s *Server) getCheckpoint(w http.ResponseWriter, r *http.Request) error {
	if err := s.awaitCheckpoint(r); err != nil {
		return err
	}
	cp, ok := s.cfg.Ledger.Latest()
	if !ok {
		return fmt.Errorf("%w: no checkpoint has been published yet", domain.ErrNotFound)
	}
	writeText(w, "text/plain; charset=utf-8", cp.Note)
	return nil
}

func (s *Server) getVerifierKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	writeText(w, "text/plain; charset=utf-8", []byte(s.cfg.Ledger.VerifierKey()+"\n"))
	return nil
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(r *http.Request, f *fields, name string, def, lo, hi int64) int64 {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		f.add(name, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

func (s *Server) getEntries(w http.ResponseWriter, r *http.Request) error {
	var f fields
	from := intParam(r, &f, "from", 0, 0, 1<<62)
	limit := intParam(r, &f, "limit", 1000, 1, maxEntriesPage)
	if err := f.err(); err != nil {
		return err
	}
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	cw := &countingWriter{w: w}
	w.Header().Set("Content-Type", "application/x-ndjson")
	if _, err := integrity.WriteEntries(r.Context(), cw, s.cfg.Store, from, limit); err != nil {
		if cw.n == 0 {
			return err // nothing sent yet: a proper problem answer
		}
		return errors.Join(errWritten, err)
	}
	if cw.n == 0 {
		w.WriteHeader(http.StatusOK) // no entry from there: an empty body
	}
	return nil
}

func (s *Server) getInclusionProof(w http.ResponseWriter, r *http.Request) error {
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	var f fields
	index := intParam(r, &f, "index", -1, 0, 1<<62)
	size := intParam(r, &f, "size", -1, 1, 1<<62)
	if index < 0 {
		f.add("index", "is required")
	}
	if size < 0 {
		f.add("size", "is required")
	}
	if err := f.err(); err != nil {
		return err
	}
	p, err := s.cfg.Ledger.InclusionProof(r.Context(), index, size)
	if err != nil {
		return proofError(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) getConsistencyProof(w http.ResponseWriter, r *http.Request) error {
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	var f fields
	from := intParam(r, &f, "from", -1, 0, 1<<62)
	to := intParam(r, &f, "to", -1, 1, 1<<62)
	if from < 0 {
		f.add("from", "is required")
	}
	if to < 0 {
		f.add("to", "is required")
	}
	if err := f.err(); err != nil {
		return err
	}
	p, err := s.cfg.Ledger.ConsistencyProof(r.Context(), from, to)
	if err != nil {
		return proofError(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// proofError turns a proof request the tree cannot answer into a 400.
func proofError(err error) error {
	if errors.Is(err, integrity.ErrBadRequest) {
		return fmt.Errorf("%w: %v", domain.ErrInvalid, err)
	}
	return err
}

func (s *Server) getAttestationProof(w http.ResponseWriter, r *http.Request) error {
	n, err := domain.ParseAttestationNumber(r.PathValue("number"))
	if err != nil {
		return err
	}
	if err := access.CheckRole(who(r), access.ProveAttestation); err != nil {
		return err
	}
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	p, err := s.cfg.Queries.AttestationProof(r.Context(), who(r), n)
	if err != nil {
		return err
	}
	recordRead(r, RecordAttestation, n.String(), "proof")
	writeJSON(w, http.StatusOK, p)
	return nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// maxCheckpointsPage bounds GET /v1/ledger/checkpoints.
const maxCheckpointsPage = 10_000

// getCheckpoints answers the published signed checkpoints whose size is
// at least from, oldest first, one note after another (at most limit).
// With them, an offline verifier locates a tampered leaf exactly.
func (s *Server) getCheckpoints(w http.ResponseWriter, r *http.Request) error {
	var f fields
	from := intParam(r, &f, "from", 0, 0, 1<<62)
	limit := intParam(r, &f, "limit", 1000, 1, maxCheckpointsPage)
	if err := f.err(); err != nil {
		return err
	}
	if err := s.awaitCheckpoint(r); err != nil {
		return err
	}
	var out []byte
	n := int64(0)
	for _, size := range s.cfg.Ledger.CheckpointSizes() {
		if size < from {
			continue
		}
		if n == limit {
			break
		}
		cp, err := s.cfg.Ledger.CheckpointAt(r.Context(), size)
		if err != nil {
			return err
		}
		out = append(out, cp.Note...)
		n++
	}
	writeText(w, "text/plain; charset=utf-8", out)
	return nil
}
