package app

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
	"github.com/attestation-ledger/attestation-ledger/journal"
)

// successEvery is how often a principal's successful authentications are
// journaled: the first, then at most one entry per principal and instance
// in this time, with the number of requests it stands for. A bearer token
// is checked on every request; one entry per request would make the
// journal as big as the traffic and tell nothing more. Failures, denials,
// reads of records and admin actions are journaled each time.
const successEvery = 5 * time.Minute

// maxCoalesced bounds the principals whose successes are being coalesced.
const maxCoalesced = 100_000

// journalSink journals the API's security events (httpapi.SecurityEvents).
type journalSink struct {
	rec journal.Recorder
	log *slog.Logger

	mu    sync.Mutex
	since map[string]*coalesced
}

type coalesced struct {
	last     time.Time
	requests int
}

func newJournalSink(rec journal.Recorder, log *slog.Logger) *journalSink {
	return &journalSink{rec: rec, log: log, since: map[string]*coalesced{}}
}

// Emit implements httpapi.SecurityEvents.
func (s *journalSink) Emit(_ context.Context, e httpapi.SecurityEvent) {
	entry := journal.Entry{
		Time: e.Time, Subject: e.Subject, Role: string(e.Role), Tenant: journal.Tenant(string(e.Role), e.Tenant),
		Object: e.Object, Source: journal.SourceIP(e.Remote), RequestID: e.RequestID,
		Detail: map[string]string{"route": e.Route},
	}
	switch e.Kind {
	case "authentication":
		if e.Result == httpapi.ResultSuccess {
			n, ok := s.coalesce(string(e.Role)+":"+e.Subject, e.Time)
			if !ok {
				return
			}
			entry.Action, entry.Result = journal.AuthnSuccess, journal.Success
			entry.Detail["requests"] = strconv.Itoa(n)
			break
		}
		entry.Action, entry.Result = journal.AuthnFailure, journal.Failure
		entry.Detail["reason"], entry.Detail["status"] = e.Result, strconv.Itoa(e.Status)
	case "denial":
		entry.Action, entry.Result = journal.AccessDenied, journal.Denied
		entry.Detail["reason"], entry.Detail["status"] = e.Result, strconv.Itoa(e.Status)
	case httpapi.KindRead:
		entry.Action, entry.Result = journal.ReadAttestation, journal.Success
		if e.Result == httpapi.RecordCompany {
			entry.Action = journal.ReadCompany
		}
	case httpapi.KindAdmin:
		entry.Action, entry.Result = journal.AdminAction, journal.Success
	case httpapi.KindThrottle:
		entry.Action, entry.Result = journal.RateLimitHit, journal.Failure
		entry.Detail["limit"] = e.Result
	default:
		return
	}
	if entry.Subject == "" {
		entry.Subject = "anonymous"
	}
	for k, v := range e.Detail {
		if len(entry.Detail) < 8 {
			entry.Detail[k] = v
		}
	}
	if err := s.rec.Record(entry); err != nil {
		s.log.Warn("security journal: entry not recorded", "action", entry.Action, "err", err)
	}
}

// coalesce counts a successful authentication of principal at t and says
// whether to journal it now, with the requests it stands for.
func (s *journalSink) coalesce(principal string, t time.Time) (requests int, journal bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.since[principal]
	if !ok {
		if len(s.since) >= maxCoalesced {
			for k, old := range s.since {
				if t.Sub(old.last) >= successEvery {
					delete(s.since, k)
				}
			}
		}
		if len(s.since) < maxCoalesced {
			s.since[principal] = &coalesced{last: t}
		}
		return 1, true
	}
	c.requests++
	if t.Sub(c.last) < successEvery {
		return 0, false
	}
	n := c.requests
	c.last, c.requests = t, 0
	return n, true
}

// accessLog answers "who looked at my file" from the journal: the reads of
// objects (a SIREN and its attestations' numbers), newest first.
func (a *App) accessLog(ctx context.Context, objects []string, before uint64, limit int) (httpapi.AccessLogPage, error) {
	page, err := a.Journal.Query(ctx, journal.Query{Objects: objects, Before: before, Limit: limit})
	if err != nil {
		return httpapi.AccessLogPage{}, err
	}
	out := httpapi.AccessLogPage{Next: page.Next, Items: make([]httpapi.AccessLogEntry, 0, len(page.Records))}
	for _, r := range page.Records {
		record := httpapi.RecordAttestation
		if r.Action == journal.ReadCompany {
			record = httpapi.RecordCompany
		}
		out.Items = append(out.Items, httpapi.AccessLogEntry{
			At: r.Time, Record: record, Object: r.Object, View: r.Detail["view"], Role: r.Role, By: r.Subject,
		})
	}
	return out, nil
}
