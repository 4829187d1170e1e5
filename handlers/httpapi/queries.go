package httpapi

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attestation-ledger/attestation-ledger/access"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// ReadModels is what the transport itself asks the read models:
// read-your-writes waits, their status and rebuilds.
type ReadModels interface {
	// WaitForPosition blocks until the read models have applied pos.
	WaitForPosition(ctx context.Context, pos uint64) error
	// Status reports each projector's checkpoint, lag and dead letters.
	Status(ctx context.Context) ([]projections.ProjectorStatus, error)
	// Rebuild rebuilds every read model into a fresh database and swaps it in.
	Rebuild(ctx context.Context, progress projections.ProgressFunc) (projections.RebuildResult, error)
}

// minPositionTimeout bounds the wait for read-your-writes (API.md: 5 s).
const minPositionTimeout = 5 * time.Second

// awaitMinPosition honours ?minPosition=N: it returns once the read models
// have applied N, or errNotCaughtUp after 5 s (Quotas.MaxWait). The wait
// counts against the caller's quota of waits (429 beyond).
func (s *Server) awaitMinPosition(r *http.Request) error {
	q := r.URL.Query().Get("minPosition")
	if q == "" {
		return nil
	}
	n, err := strconv.ParseUint(q, 10, 64)
	if err != nil {
		return badParam("minPosition", "must be a non-negative integer")
	}
	release, err := s.quota.admitWait(r)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := s.quota.waitBudget(r.Context())
	defer cancel()
	if err := s.cfg.ReadModels.WaitForPosition(ctx, n); err != nil {
		if r.Context().Err() != nil {
			return r.Context().Err()
		}
		return fmt.Errorf("%w: %d: %v", errNotCaughtUp, n, err)
	}
	return nil
}

func badParam(name, msg string) error {
	return &domain.ValidationError{Errors: []domain.FieldError{{Field: name, Message: msg}}}
}

// who is the caller, as the queries and the policy know it.
func who(r *http.Request) domain.Actor { return principalOf(r.Context()).Actor() }

func (s *Server) getLoanRequest(w http.ResponseWriter, r *http.Request) error {
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	v, err := s.cfg.Queries.LoanRequest(r.Context(), who(r), r.PathValue("requestId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) getAttestation(w http.ResponseWriter, r *http.Request) error {
	n, err := domain.ParseAttestationNumber(r.PathValue("number"))
	if err != nil {
		return err
	}
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	if asOf := r.URL.Query().Get("asOf"); asOf != "" {
		return s.getAttestationAsOf(w, r, n, asOf)
	}
	view, err := s.cfg.Queries.AttestationJSON(r.Context(), who(r), n)
	if err != nil {
		return err
	}
	recordRead(r, RecordAttestation, n.String(), "record")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(view, '\n'))
	return nil
}

// getAttestationAsOf answers an attestation as it stood at an instant.
func (s *Server) getAttestationAsOf(w http.ResponseWriter, r *http.Request, n domain.AttestationNumber, asOf string) error {
	if err := access.CheckRole(who(r), access.ReadAttestationAt); err != nil {
		return err
	}
	at, err := time.Parse(time.RFC3339Nano, asOf)
	if err != nil {
		return badParam("asOf", "must be an RFC 3339 instant")
	}
	v, err := s.cfg.Queries.AttestationAsOf(r.Context(), who(r), n, at)
	if err != nil {
		return err
	}
	recordRead(r, RecordAttestation, n.String(), "asOf")
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) listAttestations(w http.ResponseWriter, r *http.Request) error {
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	q := r.URL.Query()
	f := projections.AttestationFilter{SIREN: q.Get("siren"), BankCode: q.Get("bankCode"), Status: q.Get("status"), Cursor: q.Get("cursor"), Limit: 100}
	var errs fields
	if f.SIREN != "" {
		if _, err := domain.ParseSIREN(f.SIREN); err != nil {
			errs.add("siren", err.Error())
		}
	}
	if f.BankCode != "" {
		if _, err := domain.ParseBankCode(f.BankCode); err != nil {
			errs.add("bankCode", err.Error())
		}
	}
	if f.Status != "" && !slices.Contains([]string{"issued", "loan_granted", "cancelled"}, f.Status) {
		errs.add("status", "must be issued, loan_granted or cancelled")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			errs.add("limit", "must be from 1 to 1000")
		}
		f.Limit = n
	}
	for name, dst := range map[string]**domain.Date{"issuedFrom": &f.IssuedFrom, "issuedTo": &f.IssuedTo} {
		if v := q.Get(name); v != "" {
			d, err := domain.ParseDate(v)
			if err != nil {
				errs.add(name, err.Error())
			}
			*dst = &d
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	page, err := s.cfg.Queries.ListAttestations(r.Context(), who(r), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getCompany(w http.ResponseWriter, r *http.Request) error {
	siren, err := domain.ParseSIREN(r.PathValue("siren"))
	if err != nil {
		return badParam("siren", err.Error())
	}
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	v, err := s.cfg.Queries.Company(r.Context(), who(r), siren)
	if err != nil {
		return err
	}
	recordRead(r, RecordCompany, siren.String(), "record")
	writeJSON(w, http.StatusOK, v)
	return nil
}

// eventsPage is the body of GET /v1/events.
type eventsPage struct {
	Items []any  `json:"items"`
	Next  uint64 `json:"next"`
}

func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) error {
	siren, err := domain.ParseSIREN(r.PathValue("siren"))
	if err != nil {
		return badParam("siren", err.Error())
	}
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	envs, err := s.cfg.Queries.History(r.Context(), who(r), siren)
	if err != nil {
		return err
	}
	recordRead(r, RecordCompany, siren.String(), "history")
	writeJSON(w, http.StatusOK, map[string]any{"siren": siren.String(), "items": envs})
	return nil
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) error {
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	q := r.URL.Query()
	from, limit := uint64(1), 1000
	var errs fields
	if v := q.Get("from"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < 1 {
			errs.add("from", "must be a position, 1 or more")
		}
		from = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			errs.add("limit", "must be from 1 to 1000")
		}
		limit = n
	}
	if err := errs.err(); err != nil {
		return err
	}
	envs, next, err := s.cfg.Queries.Events(r.Context(), who(r), from, limit)
	if err != nil {
		return err
	}
	items := make([]any, len(envs))
	for i, e := range envs {
		items[i] = e
	}
	writeJSON(w, http.StatusOK, eventsPage{Items: items, Next: next})
	return nil
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) error {
	if err := s.awaitMinPosition(r); err != nil {
		return err
	}
	q := r.URL.Query()
	rq := projections.ReportQuery{GroupBy: q.Get("groupBy")}
	var errs fields
	if !slices.Contains(projections.ReportGroupings, rq.GroupBy) {
		errs.add("groupBy", "must be region, sector, size, bank, week or month")
	}
	for name, dst := range map[string]**domain.Date{"from": &rq.From, "to": &rq.To} {
		if v := q.Get(name); v != "" {
			d, err := domain.ParseDate(v)
			if err != nil {
				errs.add(name, err.Error())
			}
			*dst = &d
		}
	}
	format := q.Get("format")
	if format != "" && format != "csv" && format != "json" {
		errs.add("format", "must be csv or json")
	}
	if err := errs.err(); err != nil {
		return err
	}
	rows, err := s.cfg.Queries.Report(r.Context(), who(r), rq)
	if err != nil {
		return err
	}
	if format == "csv" || (format == "" && acceptsCSV(r)) {
		return writeReportCSV(w, rows)
	}
	writeJSON(w, http.StatusOK, map[string]any{"groupBy": rq.GroupBy, "rows": rows})
	return nil
}

// acceptsCSV reports whether the Accept header prefers text/csv to JSON:
// the first of the two media types listed wins (quality values aside).
func acceptsCSV(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			switch strings.TrimSpace(mt) {
			case "text/csv":
				return true
			case "application/json", "application/*":
				return false
			}
		}
	}
	return false
}

// writeReportCSV writes report rows as CSV: one column per JSON field of
// ReportRow, in the same order and with the same names, so that the CSV
// and the JSON always carry the same columns. Text cells are neutralised
// against formula injection (csvText).
func writeReportCSV(w http.ResponseWriter, rows []projections.ReportRow) error {
	t := reflect.TypeFor[projections.ReportRow]()
	var header []string
	var fieldIdx []int
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		header = append(header, name)
		fieldIdx = append(fieldIdx, i)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return errors.Join(errWritten, err)
	}
	rec := make([]string, len(fieldIdx))
	for _, row := range rows {
		v := reflect.ValueOf(row)
		for j, i := range fieldIdx {
			rec[j] = csvText(fmt.Sprint(v.Field(i).Interface()))
			if f := v.Field(i); f.CanInt() {
				rec[j] = strconv.FormatInt(f.Int(), 10)
			}
		}
		if err := cw.Write(rec); err != nil {
			return errors.Join(errWritten, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return errors.Join(errWritten, err)
	}
	return nil
}
