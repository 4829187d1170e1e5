package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// companyAttestation is one attestation of a company, as kept in the
// companies row.
type companyAttestation struct {
	Number      string       `json:"number"`
	AmountCents domain.Cents `json:"amountCents"`
	Active      bool         `json:"active"`
	// Bank is the attestation's bank: a bank sees only its own.
	Bank string `json:"bank"`
}

// companyCandidate is what a request declares about the company, kept
// while the request is undecided: the company's profile is its first
// attested request's (domain.Company.Profile), and each bank's view of the
// company its own first attested request's.
type companyCandidate struct {
	Name         string              `json:"name"`
	SizeCategory domain.SizeCategory `json:"sizeCategory"`
	CeilingCents domain.Cents        `json:"ceilingCents"`
}

// companyRow is a companies row.
type companyRow struct {
	siren string
	// name, sizeCategory and ceiling are the profile of the company's first
	// attested request (name empty until then): a rejected or later
	// request never changes them.
	name         string
	sizeCategory domain.SizeCategory
	ceiling      domain.Cents
	// attested is the total of the active (issued or granted)
	// attestations.
	attested     domain.Cents
	banks        []string
	attestations []companyAttestation
	// candidates are the undecided requests' declarations, by request id.
	candidates map[string]companyCandidate
	// declared is, by bank code, what the bank's first attested request
	// declared: what the bank is shown of the company.
	declared map[string]companyCandidate
	position uint64
	exists   bool
}

// companyProjector maintains companies: identity (the first attested
// request's profile), ceiling and the amount attested against it,
// attestations with their banks, and the banks with a request.
type companyProjector struct {
	st   *statements
	rows rows[companyRow]
}

func newCompanyProjector(st *statements, complete bool, limit int) *companyProjector {
	return &companyProjector{st: st, rows: newRows[companyRow](complete, limit)}
}

func (p *companyProjector) name() string { return ProjectorCompanies }

func (p *companyProjector) handles(t string) bool {
	switch t {
	case domain.TypeLoanRequestSubmitted, domain.TypeLoanRequestAssessed, domain.TypeStateDecisionRecorded,
		domain.TypeAttestationIssued, domain.TypeAttestationCancelled:
		return true
	}
	return false
}

func (p *companyProjector) complete() bool { return p.rows.complete }

func (p *companyProjector) reset() { p.rows.reset() }

func (p *companyProjector) commit() { p.rows.commit(func(r *companyRow) { r.exists = true }) }

func (p *companyProjector) apply(ctx context.Context, tx *sql.Tx, env eventstore.Envelope, e domain.Event) error {
	category, siren := eventstore.SplitStream(env.Stream)
	if category != "company" {
		return fmt.Errorf("event of stream %s is not a company's", env.Stream)
	}
	row, err := p.load(ctx, tx, siren)
	if err != nil {
		return err
	}
	var next companyRow
	if row != nil {
		next = *row
	}
	switch e := e.(type) {
	case domain.LoanRequestSubmitted:
		if e.SIREN.String() != siren {
			return fmt.Errorf("request %s of SIREN %s in stream %s", e.RequestID, e.SIREN, env.Stream)
		}
		next.siren = siren
		next.candidates = maps.Clone(next.candidates)
		if next.candidates == nil {
			next.candidates = map[string]companyCandidate{}
		}
		next.candidates[e.RequestID] = companyCandidate{
			Name: e.Company.Name, SizeCategory: e.Company.SizeCategory(), CeilingCents: domain.Ceiling(e.Company),
		}
		if !slices.Contains(next.banks, e.BankCode.String()) {
			next.banks = append(slices.Clip(next.banks), e.BankCode.String())
		}
	case domain.LoanRequestAssessed:
		if e.Outcome != domain.OutcomeRejected || !next.dropCandidate(e.RequestID) {
			return nil
		}
	case domain.StateDecisionRecorded:
		if e.Outcome != domain.OutcomeRejected || !next.dropCandidate(e.RequestID) {
			return nil
		}
	case domain.AttestationIssued:
		if row == nil {
			return fmt.Errorf("attestation %s issued to unknown company %s", e.Number, siren)
		}
		c, ok := next.candidates[e.RequestID]
		if !ok {
			return fmt.Errorf("attestation %s issued to request %s of company %s, not submitted", e.Number, e.RequestID, siren)
		}
		next.dropCandidate(e.RequestID)
		if next.name == "" {
			next.name, next.sizeCategory, next.ceiling = c.Name, c.SizeCategory, c.CeilingCents
		}
		if _, ok := next.declared[e.BankCode.String()]; !ok {
			next.declared = maps.Clone(next.declared)
			if next.declared == nil {
				next.declared = map[string]companyCandidate{}
			}
			next.declared[e.BankCode.String()] = c
		}
		next.attestations = append(slices.Clip(next.attestations),
			companyAttestation{Number: e.Number.String(), AmountCents: e.Amount, Active: true, Bank: e.BankCode.String()})
		next.attested += e.Amount
	case domain.AttestationCancelled:
		if row == nil {
			return fmt.Errorf("attestation %s of unknown company %s", e.Number, siren)
		}
		i := slices.IndexFunc(next.attestations, func(a companyAttestation) bool { return a.Number == e.Number.String() })
		if i < 0 {
			return fmt.Errorf("unknown attestation %s of company %s", e.Number, siren)
		}
		if !next.attestations[i].Active {
			return fmt.Errorf("attestation %s cancelled twice", e.Number)
		}
		next.attestations = slices.Clone(next.attestations)
		next.attestations[i].Active = false
		next.attested -= next.attestations[i].AmountCents
	default:
		return nil
	}
	next.position = env.Position
	p.rows.put(siren, &next)
	return nil
}

// dropCandidate forgets a rejected request's declared profile, and reports
// whether the row changed.
func (r *companyRow) dropCandidate(id string) bool {
	if _, ok := r.candidates[id]; !ok {
		return false
	}
	r.candidates = maps.Clone(r.candidates)
	delete(r.candidates, id)
	return true
}

// load returns the current row of a company, staged or stored, or nil.
func (p *companyProjector) load(ctx context.Context, tx *sql.Tx, siren string) (*companyRow, error) {
	if r, known := p.rows.get(siren); known {
		return r, nil
	}
	r := &companyRow{siren: siren, exists: true}
	var size string
	var ceiling, attested, pos int64
	var banks, atts, candidates, declared []byte
	err := tx.StmtContext(ctx, p.st.loadCompany).QueryRowContext(ctx, siren).
		Scan(&r.name, &size, &ceiling, &attested, &banks, &atts, &candidates, &declared, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, storageError("load company %s: %w", siren, err)
	}
	r.sizeCategory, r.ceiling, r.attested, r.position = domain.SizeCategory(size), domain.Cents(ceiling), domain.Cents(attested), uint64(pos)
	if err := errors.Join(json.Unmarshal(banks, &r.banks), json.Unmarshal(atts, &r.attestations),
		json.Unmarshal(candidates, &r.candidates), json.Unmarshal(declared, &r.declared)); err != nil {
		return nil, storageError("load company %s: %w", siren, err)
	}
	p.rows.remember(siren, r)
	return r, nil
}

func (p *companyProjector) prepare(w []rowWrite) ([]rowWrite, error) {
	err := p.rows.each(func(siren string, r *companyRow) error {
		banks, err := json.Marshal(nonNilSlice(r.banks))
		if err != nil {
			return fmt.Errorf("encode company %s: %w", siren, err)
		}
		atts, err := json.Marshal(nonNilSlice(r.attestations))
		if err != nil {
			return fmt.Errorf("encode company %s: %w", siren, err)
		}
		candidates, err := json.Marshal(nonNilMap(r.candidates))
		if err != nil {
			return fmt.Errorf("encode company %s: %w", siren, err)
		}
		declared, err := json.Marshal(nonNilMap(r.declared))
		if err != nil {
			return fmt.Errorf("encode company %s: %w", siren, err)
		}
		if r.exists {
			w = append(w, rowWrite{p.st.updateCompany, []any{r.name, string(r.sizeCategory), int64(r.ceiling), int64(r.attested),
				string(banks), string(atts), string(candidates), string(declared), int64(r.position), siren}, "company", siren})
		} else {
			w = append(w, rowWrite{p.st.insertCompany, []any{siren, r.name, string(r.sizeCategory), int64(r.ceiling), int64(r.attested),
				string(banks), string(atts), string(candidates), string(declared), int64(r.position)}, "company", siren})
		}
		return nil
	})
	return w, err
}

// nonNilMap returns m, or an empty map for nil, so that JSON shows {}.
func nonNilMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

// nonNilSlice returns s, or an empty slice for nil, so that JSON shows [].
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
