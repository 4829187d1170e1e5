package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// statements are the writer's prepared statements.
type statements struct {
	all []*sql.Stmt

	saveCheckpoint, insertDeadLetter *sql.Stmt

	loadLoan, insertLoan, updateLoan *sql.Stmt

	loadAttestation, insertAttestation, updateAttestation *sql.Stmt

	loadCompany, insertCompany, updateCompany *sql.Stmt

	loadFact, loadFactByNumber, insertFact, updateFact *sql.Stmt
}

const (
	factColumns = `request_id, attestation_number, requested_on, week, month, region, section, size_category,
		bank_code, requested_cents, guarantee_rate_bps, pending, rejected, attested, cancelled, granted,
		attested_cents, guaranteed_cents, granted_cents, position`
)

func (s *statements) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.saveCheckpoint, `UPDATE checkpoints SET position = ? WHERE projector = ?`},
		{&s.insertDeadLetter, `INSERT INTO dead_letters
			(projector, position, event_id, stream, type, schema_version, occurred_at, error, data)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},

		{&s.loadLoan, `SELECT region, section, view FROM loan_requests WHERE request_id = ?`},
		{&s.insertLoan, `INSERT INTO loan_requests
			(request_id, siren, bank_code, status, requested_on, region, section, size_category, amount_cents,
			 ceiling_cents, remaining_ceiling_cents, attestation_number, position, view)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.updateLoan, `UPDATE loan_requests SET status = ?, size_category = ?, ceiling_cents = ?,
			remaining_ceiling_cents = ?, attestation_number = ?, position = ?, view = ? WHERE request_id = ?`},

		{&s.loadAttestation, `SELECT issued_position, view FROM attestations WHERE number = ?`},
		{&s.insertAttestation, `INSERT INTO attestations
			(issued_position, number, request_id, siren, bank_code, status, amount_cents, issued_at, position, view)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.updateAttestation, `UPDATE attestations SET status = ?, position = ?, view = ? WHERE issued_position = ?`},

		{&s.loadCompany, `SELECT name, size_category, ceiling_cents, attested_cents, banks, attestations, candidates, declared, position
			FROM companies WHERE siren = ?`},
		{&s.insertCompany, `INSERT INTO companies
			(siren, name, size_category, ceiling_cents, attested_cents, banks, attestations, candidates, declared, position)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.updateCompany, `UPDATE companies SET name = ?, size_category = ?, ceiling_cents = ?, attested_cents = ?,
			banks = ?, attestations = ?, candidates = ?, declared = ?, position = ? WHERE siren = ?`},

		{&s.loadFact, `SELECT ` + factColumns + ` FROM report_facts WHERE request_id = ?`},
		{&s.loadFactByNumber, `SELECT ` + factColumns + ` FROM report_facts WHERE attestation_number = ?`},
		{&s.insertFact, `INSERT INTO report_facts (` + factColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.updateFact, `UPDATE report_facts SET attestation_number = ?, guarantee_rate_bps = ?, pending = ?,
			rejected = ?, attested = ?, cancelled = ?, granted = ?, attested_cents = ?, guaranteed_cents = ?,
			granted_cents = ?, position = ? WHERE request_id = ?`},
	} {
		st, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.dst = st
		s.all = append(s.all, st)
	}
	return nil
}

func (s *statements) close() error {
	var errs []error
	for _, st := range s.all {
		errs = append(errs, st.Close())
	}
	s.all = nil
	return errors.Join(errs...)
}
