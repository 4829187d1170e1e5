package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// AccessLogEntry is one read of a company's file: when, which record
// (RecordCompany or RecordAttestation, named by Object), through which
// view, and by whom.
type AccessLogEntry struct {
	At     time.Time `json:"at"`
	Record string    `json:"record"`
	Object string    `json:"object"`
	View   string    `json:"view,omitempty"`
	Role   string    `json:"role"`
	// By is the reader's bank code or SIREN; for the staff roles
	// (auditor, regulator, admin), only an auditor is told who.
	By string `json:"by,omitempty"`
}

// AccessLogPage is a page of a company's access log, newest first.
type AccessLogPage struct {
	Items []AccessLogEntry `json:"items"`
	// Next is the cursor of the next (older) page; 0 when none.
	Next uint64 `json:"next,omitempty"`
}

// errNoAccessLog: the service runs without a security journal.
var errNoAccessLog = errs.New(errs.Unavailable, "the access log needs the security journal")

// AccessLog answers the reads of objects recorded before cursor before
// (0: the newest), at most limit.
type AccessLog func(ctx context.Context, objects []string, before uint64, limit int) (AccessLogPage, error)

// getAccessLog answers GET /v1/companies/{siren}/access-log: who looked
// at the company's file (its record, its history, its attestations).
func (s *Server) getAccessLog(w http.ResponseWriter, r *http.Request) error {
	siren, err := domain.ParseSIREN(r.PathValue("siren"))
	if err != nil {
		return badParam("siren", err.Error())
	}
	q := r.URL.Query()
	var errs fields
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			errs.add("limit", "must be from 1 to 1000")
		}
		limit = n
	}
	var before uint64
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < 1 {
			errs.add("cursor", "must be the nextCursor of a previous page")
		}
		before = n
	}
	if err := errs.err(); err != nil {
		return err
	}
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	objects, err := s.cfg.Queries.AccessLogObjects(r.Context(), who(r), siren)
	if err != nil {
		return err
	}
	if s.cfg.AccessLog == nil {
		return errNoAccessLog
	}
	page, err := s.cfg.AccessLog(r.Context(), objects, before, limit)
	if err != nil {
		return err
	}
	if p := principalOf(r.Context()); p.Role == domain.RoleCompany {
		for i := range page.Items {
			if e := &page.Items[i]; e.Role != string(domain.RoleBank) && e.Role != string(domain.RoleCompany) {
				e.By = "" // a staff member's identity is not the company's to know
			}
		}
	}
	body := map[string]any{"siren": siren.String(), "items": page.Items}
	if page.Next != 0 {
		body["nextCursor"] = strconv.FormatUint(page.Next, 10)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
