package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// Groupings of GET /v1/reports/pge.
//
// WARNING: a public contract (the groupBy parameter).
const (
	GroupByRegion = "region"
	GroupBySector = "sector"
	GroupBySize   = "size"
	GroupByBank   = "bank"
	GroupByWeek   = "week"
	GroupByMonth  = "month"
)

// ReportGroupings lists every grouping of a report.
var ReportGroupings = []string{GroupByRegion, GroupBySector, GroupBySize, GroupByBank, GroupByWeek, GroupByMonth}

// groupColumns maps a grouping to its report_facts column.
var groupColumns = map[string]string{
	GroupByRegion: "region", GroupBySector: "section", GroupBySize: "size_category",
	GroupByBank: "bank_code", GroupByWeek: "week", GroupByMonth: "month",
}

// ReportQuery asks for a PGE report.
type ReportQuery struct {
	// GroupBy is required: one of ReportGroupings.
	GroupBy string
	// From and To are optional business dates (requestedOn), inclusive.
	From, To *domain.Date
}

// TotalKey is the key of a report's total row.
const TotalKey = "total"

// ReportRow is one row of GET /v1/reports/pge: the requests of one group.
//
// Counting: requests counts every loan request submitted (requestedCents
// their amounts); each is then in exactly one of pending (awaiting the
// State), rejected, attested (its attestation is issued or granted) and
// cancelled (its attestation was cancelled: it no longer counts in
// attested, attestedCents or guaranteedCents). guaranteedCents is, per
// attested request, amount × guaranteeRateBps / 10000 rounded down.
// granted and grantedCents count the loans granted, which stay attested.
//
// WARNING: the JSON names are the public contract of docs/API.md.
type ReportRow struct {
	Key             string       `json:"key"`
	Label           string       `json:"label"`
	Requests        int64        `json:"requests"`
	Attested        int64        `json:"attested"`
	Rejected        int64        `json:"rejected"`
	AttestedCents   domain.Cents `json:"attestedCents"`
	GuaranteedCents domain.Cents `json:"guaranteedCents"`
	Granted         int64        `json:"granted"`
	GrantedCents    domain.Cents `json:"grantedCents"`
	Pending         int64        `json:"pending"`
	Cancelled       int64        `json:"cancelled"`
	RequestedCents  domain.Cents `json:"requestedCents"`
}

// add adds o's measures to row.
func (row *ReportRow) add(o ReportRow) {
	row.Requests += o.Requests
	row.Attested += o.Attested
	row.Rejected += o.Rejected
	row.AttestedCents += o.AttestedCents
	row.GuaranteedCents += o.GuaranteedCents
	row.Granted += o.Granted
	row.GrantedCents += o.GrantedCents
	row.Pending += o.Pending
	row.Cancelled += o.Cancelled
	row.RequestedCents += o.RequestedCents
}

// Report returns the PGE report: one row per group in ascending key order,
// then the total row (key "total").
func (r *ReadModels) Report(ctx context.Context, q ReportQuery) ([]ReportRow, error) {
	col, ok := groupColumns[q.GroupBy]
	if !ok {
		return nil, fmt.Errorf("%w: groupBy %q must be one of %v", ErrInvalidQuery, q.GroupBy, ReportGroupings)
	}
	from, to := "0000-00-00", "9999-99-99"
	if q.From != nil && !q.From.IsZero() {
		from = q.From.String()
	}
	if q.To != nil && !q.To.IsZero() {
		to = q.To.String()
	}
	if from > to {
		return nil, fmt.Errorf("%w: from %s is after to %s", ErrInvalidQuery, from, to)
	}
	g, err := r.acquire()
	if err != nil {
		return nil, err
	}
	defer g.release()
	rows, err := g.r.QueryContext(ctx, `SELECT `+col+`, COUNT(*), SUM(attested), SUM(rejected), SUM(attested_cents),
		SUM(guaranteed_cents), SUM(granted), SUM(granted_cents), SUM(pending), SUM(cancelled), SUM(requested_cents)
		FROM report_facts WHERE requested_on BETWEEN ? AND ? GROUP BY 1 ORDER BY 1`, from, to)
	if err != nil {
		return nil, fmt.Errorf("report by %s: %w", q.GroupBy, err)
	}
	defer rows.Close()
	var out []ReportRow
	total := ReportRow{Key: TotalKey, Label: "Total"}
	for rows.Next() {
		var row ReportRow
		var att, guar, granted, req int64
		if err := rows.Scan(&row.Key, &row.Requests, &row.Attested, &row.Rejected, &att, &guar, &row.Granted,
			&granted, &row.Pending, &row.Cancelled, &req); err != nil {
			return nil, fmt.Errorf("report by %s: %w", q.GroupBy, err)
		}
		row.AttestedCents, row.GuaranteedCents, row.GrantedCents, row.RequestedCents =
			domain.Cents(att), domain.Cents(guar), domain.Cents(granted), domain.Cents(req)
		row.Label = reportLabel(q.GroupBy, row.Key)
		total.add(row)
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report by %s: %w", q.GroupBy, err)
	}
	return append(out, total), nil
}

// reportLabel names a group key for people.
func reportLabel(groupBy, key string) string {
	label := ""
	switch groupBy {
	case GroupByRegion:
		if rc, err := domain.ParseRegion(key); err == nil {
			label = rc.Name()
		}
	case GroupBySector:
		if len(key) == 1 {
			label = domain.SectionLabel(key[0])
		}
	case GroupBySize:
		label = domain.SizeCategory(key).Label()
	case GroupByBank:
		if bc, err := domain.ParseBankCode(key); err == nil {
			label = bc.Name()
		}
	case GroupByWeek:
		var y, w int
		if _, err := fmt.Sscanf(key, "%4d-W%2d", &y, &w); err == nil {
			mon := isoWeekStart(y, w)
			label = mon.Format(time.DateOnly) + " to " + mon.AddDate(0, 0, 6).Format(time.DateOnly)
		}
	case GroupByMonth:
		if t, err := time.Parse("2006-01", key); err == nil {
			label = t.Format("January 2006")
		}
	}
	if label == "" {
		return key
	}
	return label
}
