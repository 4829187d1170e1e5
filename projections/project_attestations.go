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

// attestationRow is an attestations row.
type attestationRow struct {
	view AttestationView
	// issuedPosition is the position of the attestation.issued event, the
	// row's key and the order of lists.
	issuedPosition uint64
	// exists is true when the row is in the database (update, not insert).
	exists bool
}

// attestationProjector maintains attestations with AttestationView.Apply.
type attestationProjector struct {
	st    *statements
	rows  rows[attestationRow]
	cache *attestationCache
	// changed lists the numbers of the batch's staged rows, for cache
	// invalidation once committed.
	changed []string
}

func newAttestationProjector(st *statements, complete bool, limit int, cache *attestationCache) *attestationProjector {
	return &attestationProjector{st: st, rows: newRows[attestationRow](complete, limit), cache: cache}
}

func (p *attestationProjector) name() string { return ProjectorAttestations }

func (p *attestationProjector) handles(t string) bool {
	switch t {
	case domain.TypeAttestationIssued, domain.TypeLoanGranted, domain.TypeAttestationCancelled:
		return true
	}
	return false
}

func (p *attestationProjector) complete() bool { return p.rows.complete }

func (p *attestationProjector) reset() { p.rows.reset() }

func (p *attestationProjector) commit() {
	p.changed = p.changed[:0]
	_ = p.rows.each(func(number string, _ *attestationRow) error {
		p.changed = append(p.changed, number)
		return nil
	})
	p.rows.commit(func(r *attestationRow) { r.exists = true })
	p.cache.invalidate(p.changed)
}

func (p *attestationProjector) apply(ctx context.Context, tx *sql.Tx, env eventstore.Envelope, e domain.Event) error {
	var number string
	switch e := e.(type) {
	case domain.AttestationIssued:
		number = e.Number.String()
	case domain.LoanGranted:
		number = e.Number.String()
	case domain.AttestationCancelled:
		number = e.Number.String()
	default:
		return nil
	}
	row, err := p.load(ctx, tx, number)
	if err != nil {
		return err
	}
	var next attestationRow
	switch e.(type) {
	case domain.AttestationIssued:
		if row != nil {
			return fmt.Errorf("attestation %s issued twice", number)
		}
		next.issuedPosition = env.Position
	default:
		if row == nil {
			return fmt.Errorf("unknown attestation %s", number)
		}
		if row.view.Status != string(domain.AttestationIssuedStatus) {
			return fmt.Errorf("attestation %s is %s, not %s", number, row.view.Status, domain.AttestationIssuedStatus)
		}
		next = *row // Apply replaces pointers, never writes through them
	}
	if !next.view.Apply(env, e) {
		return fmt.Errorf("event does not concern attestation %s", number)
	}
	p.rows.put(number, &next)
	return nil
}

// load returns the current row of an attestation, staged or stored, or nil.
func (p *attestationProjector) load(ctx context.Context, tx *sql.Tx, number string) (*attestationRow, error) {
	if r, known := p.rows.get(number); known {
		return r, nil
	}
	var issued int64
	var view []byte
	err := tx.StmtContext(ctx, p.st.loadAttestation).QueryRowContext(ctx, number).Scan(&issued, &view)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, storageError("load attestation %s: %w", number, err)
	}
	r := &attestationRow{issuedPosition: uint64(issued), exists: true}
	if err := json.Unmarshal(view, &r.view); err != nil {
		return nil, storageError("load attestation %s: decode view: %w", number, err)
	}
	p.rows.remember(number, r)
	return r, nil
}

func (p *attestationProjector) prepare(w []rowWrite) ([]rowWrite, error) {
	err := p.rows.each(func(number string, r *attestationRow) error {
		v := &r.view
		view, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode attestation %s: %w", number, err)
		}
		if r.exists {
			w = append(w, rowWrite{p.st.updateAttestation, []any{v.Status, int64(v.Position), view, int64(r.issuedPosition)}, "attestation", number})
		} else {
			w = append(w, rowWrite{p.st.insertAttestation, []any{int64(r.issuedPosition), number, v.RequestID, v.SIREN, v.BankCode, v.Status,
				int64(v.AmountCents), v.IssuedAt.UTC().UnixNano(), int64(v.Position), view}, "attestation", number})
		}
		return nil
	})
	return w, err
}
