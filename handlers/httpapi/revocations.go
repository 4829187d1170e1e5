package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// revokeRequest is the body of POST /v1/admin/revocations.
//
// WARNING: the JSON names are a public contract (docs/API.md).
type revokeRequest struct {
	JTI    string     `json:"jti"`
	Until  *time.Time `json:"until,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

// errNoRevoker answers a revocation on a server built without a Revoker.
var errNoRevoker = errs.New(errs.Unavailable, "token revocation is not configured")

// revokeToken records the revocation of a token id in the cluster: every
// instance refuses the token within seconds. until defaults to now plus
// the longest token lifetime (no own token outlives it).
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	var req revokeRequest
	if _, err := decodeBody(r, &req); err != nil {
		return err
	}
	// Revoking twice has the effect of revoking once: the key needs no
	// record, but is held to the bound every POST documents.
	if key := r.Header.Get("Idempotency-Key"); len(key) > maxIdempotencyKey {
		return badParam("Idempotency-Key", fmt.Sprintf("must be at most %d bytes", maxIdempotencyKey))
	}
	if s.cfg.Revoker == nil {
		return errNoRevoker
	}
	now := s.cfg.Now().UTC().Truncate(time.Millisecond)
	p := principalOf(r.Context())
	rev := auth.Revocation{JTI: req.JTI, RevokedAt: now, By: fmt.Sprintf("%s:%s", p.Role, p.Subject), Reason: req.Reason}
	if req.Until != nil {
		rev.Until = req.Until.UTC()
	} else {
		rev.Until = now.Add(s.cfg.Signer.Lifetimes().Longest())
	}
	if err := auth.ValidateRevocation(rev, now); err != nil {
		return err
	}
	if err := s.cfg.Revoker.Revoke(r.Context(), rev); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if s.cfg.Revocations != nil {
		s.cfg.Revocations.Add(rev) // at once here; the others learn it from the cluster
	}
	recordAdmin(r, "token-revoke", rev.JTI)
	s.log.InfoContext(r.Context(), "admin action: token revoked", "event", "admin.token.revoke", "jti", rev.JTI,
		"until", rev.Until, "subject", p.Subject, "request_id", requestIDOf(r.Context()))
	writeJSON(w, http.StatusCreated, rev)
	return nil
}

// revocationList is the answer of GET /v1/revocations.
type revocationList struct {
	Items []auth.Revocation `json:"items"`
}

// getRevocations answers the revocations in force this instance knows.
func (s *Server) getRevocations(w http.ResponseWriter, r *http.Request) error {
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	items := []auth.Revocation{}
	if s.cfg.Revocations != nil {
		items = s.cfg.Revocations.List()
	}
	writeJSON(w, http.StatusOK, revocationList{Items: items})
	return nil
}
