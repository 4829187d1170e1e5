package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/securityreport"
)

// errNoSecurityReport answers on a server built without a report source.
var errNoSecurityReport = errs.New(errs.Unavailable, "the security report is not configured")

// parseInstant parses a period bound: an RFC 3339 instant, or a date
// (YYYY-MM-DD) meaning its midnight UTC.
func parseInstant(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("must be an RFC 3339 instant (2026-11-01T00:00:00Z) or a date (2026-11-01)")
}

// getSecurityReport answers the security report of [from, to): JSON, or
// a printable HTML page with format=html.
func (s *Server) getSecurityReport(w http.ResponseWriter, r *http.Request) error {
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	q := r.URL.Query()
	var fe fields
	from := parse(&fe, "from", q.Get("from"), parseInstant)
	to := parse(&fe, "to", q.Get("to"), parseInstant)
	if !from.IsZero() && !to.IsZero() {
		switch {
		case !from.Before(to):
			fe.add("to", "must be after from")
		case to.Sub(from) > securityreport.MaxPeriod:
			fe.add("to", fmt.Sprintf("must be at most %d days after from", int(securityreport.MaxPeriod/(24*time.Hour))))
		}
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "html" {
		fe.add("format", "must be json or html")
	}
	if err := fe.err(); err != nil {
		return err
	}
	if s.cfg.SecurityReport == nil {
		return errNoSecurityReport
	}
	rep, err := s.cfg.SecurityReport(r.Context(), from, to)
	if err != nil {
		return err
	}
	if format == "html" {
		var buf bytes.Buffer
		if err := rep.WriteHTML(&buf); err != nil {
			return err
		}
		// The page is self-contained: no script, no external asset.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf.Bytes())
		return nil
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
