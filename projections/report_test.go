package projections

import (
	"errors"
	"regexp"
	"slices"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// oracleReport computes the report total from the aggregates, for requests
// whose business date is in [from, to].
func oracleReport(h *history, from, to string) ReportRow {
	total := ReportRow{Key: TotalKey, Label: "Total"}
	for _, c := range h.companies {
		atts := map[string]domain.Attestation{}
		for _, a := range c.Attestations() {
			atts[a.Number.String()] = a
		}
		for _, req := range c.Requests() {
			if on := req.RequestedOn.String(); on < from || on > to {
				continue
			}
			total.Requests++
			total.RequestedCents += req.Amount
			switch req.Status {
			case domain.RequestPendingStateReview:
				total.Pending++
			case domain.RequestRejected:
				total.Rejected++
			case domain.RequestAttested:
				a := atts[req.Attestation.String()]
				if !a.Active() {
					total.Cancelled++
					continue
				}
				total.Attested++
				total.AttestedCents += a.Amount
				total.GuaranteedCents += a.Amount * domain.Cents(a.GuaranteeRate) / 10000
				if a.Status == domain.AttestationGrantedStatus {
					total.Granted++
					total.GrantedCents += a.GrantedAmount
				}
			}
		}
	}
	return total
}

// Every grouping's rows add up to its total row, which equals what the
// aggregates say; from/to filter on the business date.
func TestReportTotalsEqualSumsOfRows(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 7)
	h.run(t.Context(), 600)
	rm := openRM(t, t.TempDir(), store, nil)
	runRM(t, rm)
	waitHead(t, rm, store)

	keyFormat := map[string]*regexp.Regexp{
		GroupByRegion: regexp.MustCompile(`^\d\d$`), GroupBySector: regexp.MustCompile(`^[A-U]$`),
		GroupBySize: regexp.MustCompile(`^(micro|sme|midcap|large)$`), GroupByBank: regexp.MustCompile(`^\d{5}$`),
		GroupByWeek: regexp.MustCompile(`^2020-W\d\d$`), GroupByMonth: regexp.MustCompile(`^2020-\d\d$`),
	}
	from, to := domain.MustDate("2020-04-01"), domain.MustDate("2020-05-15")
	for _, span := range []struct {
		from, to *domain.Date
		lo, hi   string
	}{{nil, nil, "", "9999"}, {&from, &to, from.String(), to.String()}} {
		want := oracleReport(h, span.lo, span.hi)
		if want.Requests == 0 || want.Cancelled == 0 || want.Granted == 0 || want.Rejected == 0 {
			t.Fatalf("the history is too poor for this test: %+v", want)
		}
		for _, groupBy := range ReportGroupings {
			rows, err := rm.Report(t.Context(), ReportQuery{GroupBy: groupBy, From: span.from, To: span.to})
			if err != nil {
				t.Fatalf("report by %s: %v", groupBy, err)
			}
			total := rows[len(rows)-1]
			if total != want {
				t.Errorf("report by %s %s..%s: total\n %+v\nwant %+v", groupBy, span.lo, span.hi, total, want)
			}
			sum := ReportRow{Key: TotalKey, Label: "Total"}
			prev := ""
			for _, row := range rows[:len(rows)-1] {
				sum.add(row)
				if !keyFormat[groupBy].MatchString(row.Key) || row.Key <= prev || row.Label == "" {
					t.Errorf("report by %s: row %+v after key %q", groupBy, row, prev)
				}
				prev = row.Key
				if row.Requests != row.Pending+row.Rejected+row.Attested+row.Cancelled {
					t.Errorf("report by %s: row %+v: requests are not pending + rejected + attested + cancelled", groupBy, row)
				}
			}
			if sum != total {
				t.Errorf("report by %s: rows add up to\n %+v\nnot the total\n %+v", groupBy, sum, total)
			}
		}
	}

	rows, _ := rm.Report(t.Context(), ReportQuery{GroupBy: GroupByWeek})
	if !slices.ContainsFunc(rows, func(r ReportRow) bool { return r.Key == "2020-W13" && r.Requests > 0 }) {
		t.Errorf("no requests in week 2020-W13 (23-29 March): %+v", rows)
	}
	for _, c := range []struct{ groupBy, key, label string }{
		{GroupByWeek, "2020-W13", "2020-03-23 to 2020-03-29"},
		{GroupByMonth, "2020-04", "April 2020"},
		{GroupByRegion, "53", "Bretagne"},
		{GroupBySector, "C", "Manufacturing"},
		{GroupBySize, "micro", "Microentreprise"},
		{GroupByBank, "30004", "BNP Paribas"},
	} {
		if got := reportLabel(c.groupBy, c.key); got != c.label {
			t.Errorf("label of %s %s: %q, want %q", c.groupBy, c.key, got, c.label)
		}
	}
	if _, err := rm.Report(t.Context(), ReportQuery{GroupBy: "planet"}); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("bad groupBy: %v", err)
	}
	if _, err := rm.Report(t.Context(), ReportQuery{GroupBy: GroupByBank, From: &to, To: &from}); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("from after to: %v", err)
	}
}
