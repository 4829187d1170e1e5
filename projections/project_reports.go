package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// fact is a report_facts row: one loan request, its report dimensions and
// its current contribution to each measure.
//
// How requests count: every submitted request counts in requests and
// requestedCents. Its outcome counts in exactly one of pending, rejected,
// attested and cancelled: attested means an attestation that is issued or
// granted (active); once cancelled, it leaves attested, attestedCents and
// guaranteedCents and counts in cancelled instead. granted and grantedCents
// count the loans granted (a granted attestation stays attested).
type fact struct {
	requestID   string
	number      string // "" until issued
	requestedOn string
	week, month string
	region      string
	section     string
	size        string
	bank        string
	requested   domain.Cents
	rateBps     domain.BasisPoints

	pending, rejected, attested, cancelled, granted int64

	attestedCents, guaranteedCents, grantedCents domain.Cents
	position                                     uint64
	exists                                       bool
}

// reportProjector maintains report_facts, from which GET /v1/reports/pge
// is aggregated.
type reportProjector struct {
	st   *statements
	rows rows[fact]
	// staged and committed map attestation numbers to request ids, for
	// the rows staged and cached.
	stagedNumbers, numbers map[string]string
}

func newReportProjector(st *statements, complete bool, limit int) *reportProjector {
	return &reportProjector{st: st, rows: newRows[fact](complete, limit),
		stagedNumbers: map[string]string{}, numbers: map[string]string{}}
}

func (p *reportProjector) name() string { return ProjectorReports }

func (p *reportProjector) handles(t string) bool {
	switch t {
	case domain.TypeLoanRequestSubmitted, domain.TypeLoanRequestAssessed, domain.TypeStateDecisionRecorded,
		domain.TypeAttestationIssued, domain.TypeLoanGranted, domain.TypeAttestationCancelled:
		return true
	}
	return false
}

func (p *reportProjector) complete() bool { return p.rows.complete }

func (p *reportProjector) reset() {
	p.rows.reset()
	clear(p.stagedNumbers)
}

func (p *reportProjector) commit() {
	drops := p.rows.drops
	p.rows.commit(func(r *fact) { r.exists = true })
	if p.rows.drops != drops {
		clear(p.numbers)
	}
	for n, id := range p.stagedNumbers {
		p.numbers[n] = id
	}
	clear(p.stagedNumbers)
}

func (p *reportProjector) apply(ctx context.Context, tx *sql.Tx, env eventstore.Envelope, e domain.Event) error {
	var (
		row *fact
		err error
		key string
	)
	switch e := e.(type) {
	case domain.LoanRequestSubmitted:
		key = e.RequestID
		row, err = p.load(ctx, tx, e.RequestID)
	case domain.LoanRequestAssessed:
		key = e.RequestID
		row, err = p.load(ctx, tx, e.RequestID)
	case domain.StateDecisionRecorded:
		key = e.RequestID
		row, err = p.load(ctx, tx, e.RequestID)
	case domain.AttestationIssued:
		key = e.RequestID
		row, err = p.load(ctx, tx, e.RequestID)
	case domain.LoanGranted:
		key = e.Number.String()
		row, err = p.loadByNumber(ctx, tx, e.Number.String())
	case domain.AttestationCancelled:
		key = e.Number.String()
		row, err = p.loadByNumber(ctx, tx, e.Number.String())
	default:
		return nil
	}
	if err != nil {
		return err
	}
	_, submitted := e.(domain.LoanRequestSubmitted)
	switch {
	case submitted && row != nil:
		return fmt.Errorf("request %s submitted twice", key)
	case !submitted && row == nil:
		return fmt.Errorf("unknown request or attestation %s", key)
	}
	var f fact
	if row != nil {
		f = *row
	}
	switch e := e.(type) {
	case domain.LoanRequestSubmitted:
		on := e.RequestedOn.Time()
		y, w := on.ISOWeek()
		f = fact{
			requestID: e.RequestID, requestedOn: e.RequestedOn.String(),
			week: fmt.Sprintf("%04d-W%02d", y, w), month: on.Format("2006-01"),
			region: e.Company.Region.String(), section: string(e.Company.NAF.Section()),
			size: string(e.Company.SizeCategory()), bank: e.BankCode.String(), requested: e.Amount,
		}
	case domain.LoanRequestAssessed:
		f.rateBps = e.GuaranteeRateBps
		switch e.Outcome {
		case domain.OutcomeRejected:
			f.rejected = 1
		case domain.OutcomePendingStateReview:
			f.pending = 1
		}
	case domain.StateDecisionRecorded:
		f.pending = 0
		if e.Outcome == domain.OutcomeRejected {
			f.rejected = 1
		}
	case domain.AttestationIssued:
		if f.number != "" {
			return fmt.Errorf("request %s attested twice", f.requestID)
		}
		f.number, f.rateBps = e.Number.String(), e.GuaranteeRateBps
		f.pending, f.rejected, f.attested = 0, 0, 1
		f.attestedCents, f.guaranteedCents = e.Amount, e.Amount.Percent(e.GuaranteeRateBps)
	case domain.LoanGranted:
		if f.attested != 1 || f.granted != 0 {
			return fmt.Errorf("attestation %s is not issued", key)
		}
		f.granted, f.grantedCents = 1, e.GrantedAmount
	case domain.AttestationCancelled:
		if f.attested != 1 || f.granted != 0 {
			return fmt.Errorf("attestation %s is not issued", key)
		}
		f.attested, f.cancelled = 0, 1
		f.attestedCents, f.guaranteedCents = 0, 0
	}
	f.position = env.Position
	p.rows.put(f.requestID, &f)
	if f.number != "" {
		p.stagedNumbers[f.number] = f.requestID
	}
	return nil
}

// load returns the current fact of a request, staged or stored, or nil.
func (p *reportProjector) load(ctx context.Context, tx *sql.Tx, requestID string) (*fact, error) {
	if r, known := p.rows.get(requestID); known {
		return r, nil
	}
	f, err := p.scan(tx.StmtContext(ctx, p.st.loadFact).QueryRowContext(ctx, requestID), requestID)
	if err != nil || f == nil {
		return f, err
	}
	p.rows.remember(requestID, f)
	if f.number != "" {
		p.numbers[f.number] = requestID
	}
	return f, nil
}

// loadByNumber returns the current fact of the request an attestation was
// issued for, staged or stored, or nil.
func (p *reportProjector) loadByNumber(ctx context.Context, tx *sql.Tx, number string) (*fact, error) {
	if id, ok := p.stagedNumbers[number]; ok {
		return p.load(ctx, tx, id)
	}
	if id, ok := p.numbers[number]; ok {
		return p.load(ctx, tx, id)
	}
	if p.rows.complete {
		return nil, nil
	}
	f, err := p.scan(tx.StmtContext(ctx, p.st.loadFactByNumber).QueryRowContext(ctx, number), number)
	if err != nil || f == nil {
		return f, err
	}
	if r, known := p.rows.get(f.requestID); known && r != nil {
		return r, nil
	}
	p.rows.remember(f.requestID, f)
	p.numbers[number] = f.requestID
	return f, nil
}

func (p *reportProjector) scan(row *sql.Row, key string) (*fact, error) {
	f := &fact{exists: true}
	var number sql.NullString
	var requested, rate, attestedC, guaranteedC, grantedC, pos int64
	err := row.Scan(&f.requestID, &number, &f.requestedOn, &f.week, &f.month, &f.region, &f.section, &f.size,
		&f.bank, &requested, &rate, &f.pending, &f.rejected, &f.attested, &f.cancelled, &f.granted,
		&attestedC, &guaranteedC, &grantedC, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, storageError("load report fact %s: %w", key, err)
	}
	f.number = number.String
	f.requested, f.rateBps = domain.Cents(requested), domain.BasisPoints(rate)
	f.attestedCents, f.guaranteedCents, f.grantedCents = domain.Cents(attestedC), domain.Cents(guaranteedC), domain.Cents(grantedC)
	f.position = uint64(pos)
	return f, nil
}

func (p *reportProjector) prepare(w []rowWrite) ([]rowWrite, error) {
	err := p.rows.each(func(id string, f *fact) error {
		var number *string
		if f.number != "" {
			number = &f.number
		}
		if f.exists {
			w = append(w, rowWrite{p.st.updateFact, []any{number, int64(f.rateBps), f.pending, f.rejected, f.attested, f.cancelled,
				f.granted, int64(f.attestedCents), int64(f.guaranteedCents), int64(f.grantedCents), int64(f.position), id}, "report fact", id})
		} else {
			w = append(w, rowWrite{p.st.insertFact, []any{id, number, f.requestedOn, f.week, f.month, f.region, f.section, f.size,
				f.bank, int64(f.requested), int64(f.rateBps), f.pending, f.rejected, f.attested, f.cancelled,
				f.granted, int64(f.attestedCents), int64(f.guaranteedCents), int64(f.grantedCents), int64(f.position)}, "report fact", id})
		}
		return nil
	})
	return w, err
}

// isoWeekStart returns the Monday of an ISO week.
func isoWeekStart(year, week int) time.Time {
	// 4 January is always in week 1.
	jan4 := time.Date(year, time.January, 4, 0, 0, 0, 0, time.UTC)
	offset := (int(jan4.Weekday()) + 6) % 7 // days since Monday
	return jan4.AddDate(0, 0, -offset+(week-1)*7)
}
