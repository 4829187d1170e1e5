package projections

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// LoanRequest returns a loan request's view, or ErrNotFound.
func (r *ReadModels) LoanRequest(ctx context.Context, id string) (LoanRequestView, error) {
	g, err := r.acquire()
	if err != nil {
		return LoanRequestView{}, err
	}
	defer g.release()
	var region, section string
	var view []byte
	err = g.r.QueryRowContext(ctx, `SELECT region, section, view FROM loan_requests WHERE request_id = ?`, id).
		Scan(&region, &section, &view)
	if errors.Is(err, sql.ErrNoRows) {
		return LoanRequestView{}, fmt.Errorf("loan request %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return LoanRequestView{}, fmt.Errorf("query loan request %s: %w", id, err)
	}
	var v LoanRequestView
	if err := json.Unmarshal(view, &v); err != nil {
		return LoanRequestView{}, fmt.Errorf("query loan request %s: decode: %w", id, err)
	}
	v.RegionCode, v.Section = region, section
	return v, nil
}

// Attestation returns an attestation's view, or ErrNotFound.
func (r *ReadModels) Attestation(ctx context.Context, number string) (AttestationView, error) {
	g, err := r.acquire()
	if err != nil {
		return AttestationView{}, err
	}
	defer g.release()
	var view []byte
	err = g.r.QueryRowContext(ctx, `SELECT view FROM attestations WHERE number = ?`, number).Scan(&view)
	if errors.Is(err, sql.ErrNoRows) {
		return AttestationView{}, fmt.Errorf("attestation %s: %w", number, ErrNotFound)
	}
	if err != nil {
		return AttestationView{}, fmt.Errorf("query attestation %s: %w", number, err)
	}
	var v AttestationView
	if err := json.Unmarshal(view, &v); err != nil {
		return AttestationView{}, fmt.Errorf("query attestation %s: decode: %w", number, err)
	}
	return v, nil
}

// AttestationJSON returns an attestation's view as stored, its JSON
// encoding, with the SIREN and bank that own it: a lookup that needs no
// decoding and re-encoding (the HTTP API's hot path), answered from
// memory for attestations looked up recently. The returned view must not
// be modified.
func (r *ReadModels) AttestationJSON(ctx context.Context, number string) (siren, bankCode string, view []byte, err error) {
	g, err := r.acquire()
	if err != nil {
		return "", "", nil, err
	}
	defer g.release()
	if a, ok := g.attestations.get(number); ok {
		return a.siren, a.bankCode, a.view, nil
	}
	epoch := g.attestations.start()
	err = g.r.QueryRowContext(ctx, `SELECT siren, bank_code, view FROM attestations WHERE number = ?`, number).Scan(&siren, &bankCode, &view)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil, fmt.Errorf("attestation %s: %w", number, ErrNotFound)
	}
	if err != nil {
		return "", "", nil, fmt.Errorf("query attestation %s: %w", number, err)
	}
	g.attestations.fill(epoch, number, cachedAttestation{siren: siren, bankCode: bankCode, view: slices.Clip(view)})
	return siren, bankCode, view, nil
}

// Limits of ListAttestations.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// AttestationFilter selects attestations for ListAttestations. Zero fields
// select everything.
type AttestationFilter struct {
	// SIREN keeps the attestations of one company.
	SIREN string
	// BankCode keeps the attestations of one bank.
	BankCode string
	// Status keeps the attestations in one status (issued, loan_granted,
	// cancelled).
	Status string
	// IssuedFrom keeps those issued on or after this date (UTC).
	IssuedFrom *domain.Date
	// IssuedTo keeps those issued on or before this date (UTC).
	IssuedTo *domain.Date
	// Limit is the page size: 0 for DefaultListLimit, at most MaxListLimit.
	Limit int
	// Cursor is the NextCursor of the previous page, "" for the first.
	Cursor string
}

// AttestationPage is a page of ListAttestations, the body of
// GET /v1/attestations.
//
// WARNING: the JSON names are the public contract of docs/API.md.
type AttestationPage struct {
	Items []AttestationView `json:"items"`
	// NextCursor is the opaque cursor of the next page, "" after the last.
	NextCursor string `json:"nextCursor"`
}

// cursorPrefix versions the opaque cursor format.
const cursorPrefix = "a1:"

// encodeCursor makes the opaque cursor after an attestation, by its issue
// position (the list's stable order: new attestations only ever come after
// every existing one, so keyset pages have neither duplicates nor gaps).
func encodeCursor(issuedPosition uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(issuedPosition, 10)))
}

func decodeCursor(c string) (uint64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && strings.HasPrefix(string(b), cursorPrefix) {
		if pos, err := strconv.ParseUint(strings.TrimPrefix(string(b), cursorPrefix), 10, 63); err == nil {
			return pos, nil
		}
	}
	return 0, fmt.Errorf("%w: malformed cursor", ErrInvalidQuery)
}

// ListAttestations returns a page of the attestations that match f, in the
// order they were issued, with the cursor of the next page. Pages are
// keyset-paginated on the issue position: walking the cursors visits every
// matching attestation exactly once, even while new ones are issued.
func (r *ReadModels) ListAttestations(ctx context.Context, f AttestationFilter) (AttestationPage, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultListLimit
	case limit < 0 || limit > MaxListLimit:
		return AttestationPage{}, fmt.Errorf("%w: limit %d must be from 1 to %d", ErrInvalidQuery, f.Limit, MaxListLimit)
	}
	var after uint64
	if f.Cursor != "" {
		var err error
		if after, err = decodeCursor(f.Cursor); err != nil {
			return AttestationPage{}, err
		}
	}
	where := []string{"issued_position > ?"}
	args := []any{int64(after)}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.SIREN != "" {
		add("siren = ?", f.SIREN)
	}
	if f.BankCode != "" {
		add("bank_code = ?", f.BankCode)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.IssuedFrom != nil && !f.IssuedFrom.IsZero() {
		add("issued_at >= ?", f.IssuedFrom.Time().UnixNano())
	}
	if f.IssuedTo != nil && !f.IssuedTo.IsZero() {
		add("issued_at < ?", f.IssuedTo.AddDays(1).Time().UnixNano())
	}
	args = append(args, limit+1)
	query := `SELECT issued_position, view FROM attestations WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY issued_position LIMIT ?`

	g, err := r.acquire()
	if err != nil {
		return AttestationPage{}, err
	}
	defer g.release()
	rows, err := g.r.QueryContext(ctx, query, args...)
	if err != nil {
		return AttestationPage{}, fmt.Errorf("list attestations: %w", err)
	}
	defer rows.Close()
	items := make([]AttestationView, 0, min(limit, 64))
	var last uint64
	more := false
	for rows.Next() {
		if len(items) == limit {
			more = true
			break
		}
		var pos int64
		var view []byte
		if err := rows.Scan(&pos, &view); err != nil {
			return AttestationPage{}, fmt.Errorf("list attestations: %w", err)
		}
		var v AttestationView
		if err := json.Unmarshal(view, &v); err != nil {
			return AttestationPage{}, fmt.Errorf("list attestations: decode: %w", err)
		}
		items = append(items, v)
		last = uint64(pos)
	}
	if err := rows.Err(); err != nil {
		return AttestationPage{}, fmt.Errorf("list attestations: %w", err)
	}
	page := AttestationPage{Items: items}
	if more {
		page.NextCursor = encodeCursor(last)
	}
	return page, nil
}

// CompanyView is a company as GET /v1/companies/{siren} shows it.
//
// WARNING: the JSON names are the public contract of docs/API.md.
type CompanyView struct {
	SIREN string `json:"siren"`
	// Name and SizeCategory are the profile of the company's first
	// attested request, as CeilingCents: never a rejected or later
	// request's.
	Name         string              `json:"name"`
	SizeCategory domain.SizeCategory `json:"sizeCategory"`
	CeilingCents domain.Cents        `json:"ceilingCents"`
	// AttestedCents is the total of the active (issued or granted)
	// attestations.
	AttestedCents domain.Cents `json:"attestedCents"`
	// RemainingCeilingCents is the ceiling less the company's active
	// attestations (all banks together), never negative: the headroom a
	// new request has.
	RemainingCeilingCents domain.Cents `json:"remainingCeilingCents"`
	// Attestations are every attestation number, cancelled ones included,
	// oldest first.
	Attestations []string `json:"attestations"`
	// Position is the global position of the company's last event that
	// changed the view.
	Position uint64 `json:"position"`

	// Held are the attestations with their banks and amounts, the whole
	// of which only a role that sees every company may see (ForBank).
	Held []HeldAttestation `json:"-"`
	// Declared is, by bank code, what the bank's first attested request
	// declared of the company (ForBank).
	Declared map[string]DeclaredProfile `json:"-"`
}

// DeclaredProfile is what a request declared of the company.
type DeclaredProfile struct {
	Name         string
	SizeCategory domain.SizeCategory
	CeilingCents domain.Cents
}

// HeldAttestation is one attestation of a company view, with its bank.
type HeldAttestation struct {
	Number      string
	BankCode    string
	AmountCents domain.Cents
	// Active: issued or granted, not cancelled.
	Active bool
}

// HeldBy reports whether bank has (or had: cancelled ones count) an
// attestation for the company.
func (v CompanyView) HeldBy(bank string) bool {
	return slices.ContainsFunc(v.Held, func(a HeldAttestation) bool { return a.BankCode == bank })
}

// ForBank returns the view as a bank may see it: what it declared itself,
// its own attestations and their total, and the headroom its next request
// would be told; never another bank's numbers, amounts or identity, nor
// what another bank declared. Name, SizeCategory and CeilingCents are the
// bank's first attested request's, and RemainingCeilingCents its ceiling
// less the company's active attestations, all banks together: the headroom
// the assessment of a request with the same profile states.
func (v CompanyView) ForBank(bank string) CompanyView {
	out := CompanyView{SIREN: v.SIREN, Position: v.Position, Attestations: []string{}}
	d := v.Declared[bank]
	out.Name, out.SizeCategory, out.CeilingCents = d.Name, d.SizeCategory, d.CeilingCents
	out.RemainingCeilingCents = max(d.CeilingCents-v.AttestedCents, 0)
	for _, a := range v.Held {
		if a.BankCode != bank {
			continue
		}
		out.Attestations = append(out.Attestations, a.Number)
		out.Held = append(out.Held, a)
		if a.Active {
			out.AttestedCents += a.AmountCents
		}
	}
	return out
}

// Company returns a company's view, or ErrNotFound when the ledger knows
// no company of that SIREN with a profile: none of its requests has been
// attested (a rejected request makes no company record).
func (r *ReadModels) Company(ctx context.Context, siren string) (CompanyView, error) {
	g, err := r.acquire()
	if err != nil {
		return CompanyView{}, err
	}
	defer g.release()
	v := CompanyView{SIREN: siren}
	var size string
	var ceiling, attested, pos int64
	var atts, declared []byte
	err = g.r.QueryRowContext(ctx, `SELECT name, size_category, ceiling_cents, attested_cents, attestations, declared, position
		FROM companies WHERE siren = ? AND name != ''`, siren).Scan(&v.Name, &size, &ceiling, &attested, &atts, &declared, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return CompanyView{}, fmt.Errorf("company %s: %w", siren, ErrNotFound)
	}
	if err != nil {
		return CompanyView{}, fmt.Errorf("query company %s: %w", siren, err)
	}
	var list []companyAttestation
	var byBank map[string]companyCandidate
	if err := errors.Join(json.Unmarshal(atts, &list), json.Unmarshal(declared, &byBank)); err != nil {
		return CompanyView{}, fmt.Errorf("query company %s: decode: %w", siren, err)
	}
	v.Declared = make(map[string]DeclaredProfile, len(byBank))
	for b, d := range byBank {
		v.Declared[b] = DeclaredProfile(d)
	}
	v.SizeCategory, v.CeilingCents, v.AttestedCents = domain.SizeCategory(size), domain.Cents(ceiling), domain.Cents(attested)
	v.RemainingCeilingCents = max(v.CeilingCents-v.AttestedCents, 0)
	v.Position = uint64(pos)
	v.Attestations = make([]string, len(list))
	v.Held = make([]HeldAttestation, len(list))
	for i, a := range list {
		v.Attestations[i] = a.Number
		v.Held[i] = HeldAttestation{Number: a.Number, BankCode: a.Bank, AmountCents: a.AmountCents, Active: a.Active}
	}
	return v, nil
}
