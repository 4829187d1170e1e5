package journal

import (
	"context"
	"fmt"
	"slices"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Bounds of a Query.
const (
	// DefaultQueryLimit is a page's size when Query.Limit is 0.
	DefaultQueryLimit = 100
	// MaxQueryLimit is the largest page.
	MaxQueryLimit = 1000
	// MaxQueryObjects bounds the objects of one query.
	MaxQueryObjects = 1024
	// maxQueryScan bounds the entries one query reads.
	maxQueryScan = 200_000
)

// Query selects the journal's entries about some records: "who looked at
// my file".
type Query struct {
	// Objects is required: the records (a SIREN and the numbers of its
	// attestations), as the entries name them.
	Objects []string
	// Actions is optional: default ReadCompany and ReadAttestation.
	Actions []Action
	// Before is optional: only entries at positions below it (the Next of
	// the previous page); 0 for the newest.
	Before uint64
	// Limit is optional: the page size (default DefaultQueryLimit, at most
	// MaxQueryLimit).
	Limit int
}

// Page is a page of a query's answer, newest first.
type Page struct {
	// Records are the entries, newest first.
	Records []Record
	// Next is the Before of the next (older) page, 0 when this is the
	// last.
	Next uint64
}

// Query returns the entries about q's objects, newest first, a page at a
// time. Entries are found by their subjects (one per action and object),
// so a query reads only the entries it returns and the newer ones it
// pages past; expired entries are gone.
func (j *Journal) Query(ctx context.Context, q Query) (Page, error) {
	if len(q.Actions) == 0 {
		q.Actions = []Action{ReadCompany, ReadAttestation}
	}
	if q.Limit == 0 {
		q.Limit = DefaultQueryLimit
	}
	if len(q.Objects) == 0 || len(q.Objects) > MaxQueryObjects || q.Limit < 0 || q.Limit > MaxQueryLimit {
		return Page{}, errs.Errorf(errs.Invalid, "journal query: want 1 to %d objects and a limit of at most %d", MaxQueryObjects, MaxQueryLimit)
	}
	var filters []string
	for _, a := range q.Actions {
		if !a.Valid() {
			return Page{}, errs.Errorf(errs.Invalid, "journal query: unknown action %q", a)
		}
		for _, o := range q.Objects {
			filters = append(filters, subjectOf(a, o))
		}
	}
	slices.Sort(filters)
	filters = slices.Compact(filters)
	cons, err := j.js.OrderedConsumer(ctx, StreamName, njs.OrderedConsumerConfig{FilterSubjects: filters, DeliverPolicy: njs.DeliverAllPolicy})
	if err != nil {
		return Page{}, errs.Wrap(errs.Unavailable, fmt.Errorf("journal query: %w", err))
	}
	info := cons.CachedInfo()
	if info == nil || info.NumPending == 0 {
		return Page{}, nil
	}
	if info.NumPending > maxQueryScan {
		return Page{}, errs.Errorf(errs.TooLarge, "journal query: %d entries match; narrow the query", info.NumPending)
	}
	// The newest Limit+1 entries below Before, oldest first.
	var keep []Record
	pending := info.NumPending
	for done := false; !done; {
		batch, release, err := fetch(ctx, cons, int(min(max(pending, 1), 1024)), 2*time.Second)
		if err != nil {
			return Page{}, errs.Wrap(errs.Unavailable, fmt.Errorf("journal query: %w", err))
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return Page{}, fmt.Errorf("journal query: %w", err)
			}
			pending = md.NumPending
			done = md.NumPending == 0
			if q.Before != 0 && md.Sequence.Stream >= q.Before {
				done = true
				continue
			}
			e, err := decode(m.Data())
			if err != nil || !slices.Contains(q.Objects, e.Object) || !slices.Contains(q.Actions, e.Action) {
				continue // another object with the same 64-bit token, or unreadable
			}
			keep = append(keep, Record{Position: md.Sequence.Stream, Entry: e})
			if len(keep) > q.Limit+1 {
				keep = keep[1:]
			}
		}
		release()
		if err := batch.Error(); err != nil && got == 0 {
			return Page{}, errs.Wrap(errs.Unavailable, fmt.Errorf("journal query: %w", err))
		}
		if got == 0 {
			done = true
		}
	}
	var p Page
	if len(keep) > q.Limit {
		keep = keep[1:]
		p.Next = keep[0].Position
	}
	slices.Reverse(keep)
	p.Records = keep
	return p, nil
}
