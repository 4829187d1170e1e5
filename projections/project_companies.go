package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
}

// companyRow is a companies row.
type companyRow struct {
	siren        string
	name         string
	sizeCategory domain.SizeCategory
	ceiling      domain.Cents
	// attested is the total of the active (issued or granted)
	// attestations.
	attested     domain.Cents
	banks        []string
	attestations []companyAttestation
	position     uint64
	exists       bool
}

// companyProjector maintains companies: identity, ceiling and the amount
// attested against it, attestations and the banks with a request.
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
	case domain.TypeLoanRequestSubmitted, domain.TypeAttestationIssued, domain.TypeAttestationCancelled:
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
		next.name = e.Company.Name
		next.sizeCategory = e.Company.SizeCategory()
		next.ceiling = domain.Ceiling(e.Company)
		if !slices.Contains(next.banks, e.BankCode.String()) {
			next.banks = append(slices.Clip(next.banks), e.BankCode.String())
		}
	case domain.AttestationIssued:
		if row == nil {
			return fmt.Errorf("attestation %s issued to unknown company %s", e.Number, siren)
		}
		next.attestations = append(slices.Clip(next.attestations),
			companyAttestation{Number: e.Number.String(), AmountCents: e.Amount, Active: true})
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

// load returns the current row of a company, staged or stored, or nil.
func (p *companyProjector) load(ctx context.Context, tx *sql.Tx, siren string) (*companyRow, error) {
	if r, known := p.rows.get(siren); known {
		return r, nil
	}
	r := &companyRow{siren: siren, exists: true}
	var size string
	var ceiling, attested, pos int64
	var banks, atts []byte
	err := tx.StmtContext(ctx, p.st.loadCompany).QueryRowContext(ctx, siren).
		Scan(&r.name, &size, &ceiling, &attested, &banks, &atts, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, storageError("load company %s: %w", siren, err)
	}
	r.sizeCategory, r.ceiling, r.attested, r.position = domain.SizeCategory(size), domain.Cents(ceiling), domain.Cents(attested), uint64(pos)
	if err := errors.Join(json.Unmarshal(banks, &r.banks), json.Unmarshal(atts, &r.attestations)); err != nil {
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
		if r.exists {
			w = append(w, rowWrite{p.st.updateCompany, []any{r.name, string(r.sizeCategory), int64(r.ceiling), int64(r.attested),
				string(banks), string(atts), int64(r.position), siren}, "company", siren})
		} else {
			w = append(w, rowWrite{p.st.insertCompany, []any{siren, r.name, string(r.sizeCategory), int64(r.ceiling), int64(r.attested),
				string(banks), string(atts), int64(r.position)}, "company", siren})
		}
		return nil
	})
	return w, err
}

// nonNilSlice returns s, or an empty slice for nil, so that JSON shows [].
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
