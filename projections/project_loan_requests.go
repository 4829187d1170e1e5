package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// loanRow is a loan_requests row.
type loanRow struct {
	view LoanRequestView
	// exists is true when the row is in the database (update, not insert).
	exists bool
}

// loanRequestProjector maintains loan_requests with LoanRequestView.Apply.
type loanRequestProjector struct {
	st   *statements
	rows rows[loanRow]
}

func newLoanRequestProjector(st *statements, complete bool, limit int) *loanRequestProjector {
	return &loanRequestProjector{st: st, rows: newRows[loanRow](complete, limit)}
}

func (p *loanRequestProjector) name() string { return ProjectorLoanRequests }

func (p *loanRequestProjector) handles(t string) bool {
	switch t {
	case domain.TypeLoanRequestSubmitted, domain.TypeLoanRequestAssessed,
		domain.TypeStateDecisionRecorded, domain.TypeAttestationIssued:
		return true
	}
	return false
}

func (p *loanRequestProjector) complete() bool { return p.rows.complete }

func (p *loanRequestProjector) reset() { p.rows.reset() }

func (p *loanRequestProjector) commit() { p.rows.commit(func(r *loanRow) { r.exists = true }) }

func (p *loanRequestProjector) apply(ctx context.Context, tx *sql.Tx, env eventstore.Envelope, e domain.Event) error {
	var id string
	switch e := e.(type) {
	case domain.LoanRequestSubmitted:
		id = e.RequestID
	case domain.LoanRequestAssessed:
		id = e.RequestID
	case domain.StateDecisionRecorded:
		id = e.RequestID
	case domain.AttestationIssued:
		id = e.RequestID
	default:
		return nil
	}
	row, err := p.load(ctx, tx, id)
	if err != nil {
		return err
	}
	_, submitted := e.(domain.LoanRequestSubmitted)
	switch {
	case submitted && row != nil:
		return fmt.Errorf("request %s submitted twice", id)
	case !submitted && row == nil:
		return fmt.Errorf("unknown request %s", id)
	}
	var next loanRow
	if row != nil {
		next = *row // Apply replaces slices and pointers, never writes through them
	}
	if !next.view.Apply(env, e) {
		return fmt.Errorf("event does not concern request %s", id)
	}
	p.rows.put(id, &next)
	return nil
}

// load returns the current row of a request, staged or stored, or nil.
func (p *loanRequestProjector) load(ctx context.Context, tx *sql.Tx, id string) (*loanRow, error) {
	if r, known := p.rows.get(id); known {
		return r, nil
	}
	var region, section string
	var view []byte
	err := tx.StmtContext(ctx, p.st.loadLoan).QueryRowContext(ctx, id).Scan(&region, &section, &view)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, storageError("load request %s: %w", id, err)
	}
	r := &loanRow{exists: true}
	if err := json.Unmarshal(view, &r.view); err != nil {
		return nil, storageError("load request %s: decode view: %w", id, err)
	}
	r.view.RegionCode, r.view.Section = region, section
	p.rows.remember(id, r)
	return r, nil
}

func (p *loanRequestProjector) prepare(w []rowWrite) ([]rowWrite, error) {
	err := p.rows.each(func(id string, r *loanRow) error {
		v := &r.view
		view, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode request %s: %w", id, err)
		}
		var number *string
		if v.Attestation != nil {
			number = &v.Attestation.Number
		}
		if r.exists {
			w = append(w, rowWrite{p.st.updateLoan, []any{v.Status, string(v.SizeCategory), int64(v.CeilingCents),
				int64(v.RemainingCeilingCents), number, int64(v.Position), view, id}, "request", id})
		} else {
			w = append(w, rowWrite{p.st.insertLoan, []any{id, v.SIREN, v.BankCode, v.Status, v.RequestedOn, v.RegionCode, v.Section,
				string(v.SizeCategory), int64(v.AmountCents), int64(v.CeilingCents), int64(v.RemainingCeilingCents),
				number, int64(v.Position), view}, "request", id})
		}
		return nil
	})
	return w, err
}
