package securityreport

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/journal"
)

// analysis reads the period's entries once, in position order.
type analysis struct {
	rules   Rules
	sum     Summary
	tenants map[string]*TenantStats
	// failures by source, and throttles by principal, for the rules.
	failures  map[string][]hit
	throttles map[string][]hit
	admin     []Action
	omitted   int
	rotations []Action
	untrusted int
	// ledgerCheckpoints are the ledger checkpoints journaled in the
	// period (checkpoint.publish: size and root), oldest first.
	ledgerCheckpoints []ledgerCheckpoint
	// leaves are the period's leaf hashes by position, to check against
	// the journal's tree; gaps counts positions missing between them.
	leaves   []positioned
	gaps     int
	firstPos uint64
	lastPos  uint64
	// order: entries whose time is before their predecessor's.
	prevTime    time.Time
	outOfOrder  int
	maxBackstep time.Duration
}

type hit struct {
	at      time.Time
	pos     uint64
	subject string
}

type positioned struct {
	pos  uint64
	hash tlog.Hash
}

type ledgerCheckpoint struct {
	size int64
	root tlog.Hash
	pos  uint64
}

func newAnalysis(r Rules) *analysis {
	return &analysis{
		rules: r, sum: Summary{ByAction: map[string]int{}}, tenants: map[string]*TenantStats{},
		failures: map[string][]hit{}, throttles: map[string][]hit{},
	}
}

// tenantOf is the row an entry counts in.
func tenantOf(e journal.Entry) string {
	switch {
	case e.Tenant != "":
		return e.Tenant
	case e.Role != "":
		return "role:" + e.Role
	}
	return "anonymous"
}

func (a *analysis) tenant(e journal.Entry) *TenantStats {
	k := tenantOf(e)
	t, ok := a.tenants[k]
	if !ok {
		t = &TenantStats{Tenant: k, FailuresByReason: map[string]int{}}
		a.tenants[k] = t
	}
	return t
}

// add takes one entry of the period (journal.Journal.Scan's callback).
func (a *analysis) add(r journal.Record, leaf []byte) error {
	e := r.Entry
	a.sum.Entries++
	a.sum.ByAction[string(e.Action)]++
	if a.firstPos == 0 {
		a.firstPos = r.Position
	} else if r.Position > a.lastPos+1 {
		a.gaps += int(r.Position - a.lastPos - 1)
	}
	a.lastPos = r.Position
	a.leaves = append(a.leaves, positioned{r.Position, tlog.RecordHash(leaf)})
	if !a.prevTime.IsZero() && e.Time.Before(a.prevTime) {
		a.outOfOrder++
		a.maxBackstep = max(a.maxBackstep, a.prevTime.Sub(e.Time))
	}
	a.prevTime = e.Time
	switch e.Action {
	case journal.AuthnSuccess:
		a.tenant(e).AuthnSuccesses++
	case journal.AuthnFailure:
		t := a.tenant(e)
		t.AuthnFailures++
		reason := cmp.Or(e.Detail["reason"], e.Detail["result"])
		if reason == "" {
			reason = "unspecified"
		}
		t.FailuresByReason[reason]++
		src := e.Source
		if src == "" {
			src = "(unknown source)"
		}
		a.failures[src] = append(a.failures[src], hit{e.Time, r.Position, e.Subject})
	case journal.AccessDenied:
		t := a.tenant(e)
		if e.Detail["status"] == "404" || e.Detail["reason"] == "hidden" || e.Detail["result"] == "hidden" {
			t.Hidden++
		} else {
			t.Forbidden++
		}
	case journal.RateLimitHit:
		a.tenant(e).Throttled++
		key := tenantOf(e)
		if e.Tenant == "" && e.Subject != "" && e.Subject != "anonymous" {
			key = e.Role + ":" + e.Subject
		}
		if key == "anonymous" {
			key = "anonymous@" + e.Source
		}
		a.throttles[key] = append(a.throttles[key], hit{e.Time, r.Position, e.Subject})
	case journal.ReadCompany, journal.ReadAttestation:
		a.tenant(e).Reads++
	case journal.AdminAction, journal.TokenRevoke:
		if len(a.admin) < MaxListed {
			a.admin = append(a.admin, listed(r))
		} else {
			a.omitted++
		}
	case journal.KeyRotate:
		if len(a.rotations) < MaxListed {
			a.rotations = append(a.rotations, listed(r))
		}
	case journal.EventUntrusted:
		a.untrusted++
	case journal.JournalLoss:
		n, _ := strconv.Atoi(e.Detail["dropped"])
		a.sum.JournalLosses += max(n, 1)
	case journal.ServiceStart:
		a.sum.ServiceStarts++
	case journal.ServiceStop:
		a.sum.ServiceStops++
	case journal.CheckpointPublish:
		size, err1 := strconv.ParseInt(e.Object, 10, 64)
		root, err2 := tlog.ParseHash(e.Detail["root"])
		if err1 == nil && err2 == nil {
			a.ledgerCheckpoints = append(a.ledgerCheckpoints, ledgerCheckpoint{size, root, r.Position})
		}
	}
	return nil
}

func listed(r journal.Record) Action {
	e := r.Entry
	return Action{Position: r.Position, Time: e.Time, Action: string(e.Action), Result: string(e.Result), Subject: e.Subject,
		Role: e.Role, Object: e.Object, Source: e.Source, RequestID: e.RequestID, Detail: e.Detail}
}

// finish fills the report's sections the entries make.
func (a *analysis) finish(rep *Report) {
	a.sum.FirstPosition, a.sum.LastPosition = a.firstPos, a.lastPos
	rep.Summary = a.sum
	rep.Tenants = make([]TenantStats, 0, len(a.tenants))
	for _, t := range a.tenants {
		rep.Tenants = append(rep.Tenants, *t)
	}
	slices.SortFunc(rep.Tenants, func(x, y TenantStats) int { return cmp.Compare(x.Tenant, y.Tenant) })
	rep.BruteForce = episodes(RuleBruteForce, a.failures, a.rules.BruteForceCount, a.rules.BruteForceWindow)
	rep.Floods = episodes(RuleFlood, a.throttles, a.rules.FloodCount, a.rules.FloodWindow)
	rep.AdminActions, rep.AdminActionsOmitted = nonNil(a.admin), a.omitted
	rep.Keys.Rotations = nonNil(a.rotations)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// episodes applies a rule: the hits of each key are split where two are
// more than window apart; a part with at least count hits within one
// window is an episode.
func episodes(rule string, byKey map[string][]hit, count int, window time.Duration) []Episode {
	out := []Episode{}
	for key, hits := range byKey {
		slices.SortStableFunc(hits, func(x, y hit) int { return x.at.Compare(y.at) })
		for start := 0; start < len(hits); {
			end := start + 1
			for end < len(hits) && hits[end].at.Sub(hits[end-1].at) <= window {
				end++
			}
			part := hits[start:end]
			peak, lo := 0, 0
			for hi := range part {
				for part[hi].at.Sub(part[lo].at) > window {
					lo++
				}
				peak = max(peak, hi-lo+1)
			}
			if peak >= count {
				ep := Episode{Rule: rule, Key: key, First: part[0].at, Last: part[len(part)-1].at, Count: len(part), Peak: peak,
					FirstPosition: part[0].pos, LastPosition: part[0].pos, Subjects: []string{}}
				for _, h := range part {
					ep.FirstPosition, ep.LastPosition = min(ep.FirstPosition, h.pos), max(ep.LastPosition, h.pos)
					if len(ep.Subjects) < 10 && !slices.Contains(ep.Subjects, h.subject) {
						ep.Subjects = append(ep.Subjects, h.subject)
					}
				}
				out = append(out, ep)
			}
			start = end
		}
	}
	slices.SortFunc(out, func(x, y Episode) int {
		return cmp.Or(x.First.Compare(y.First), cmp.Compare(x.Key, y.Key))
	})
	return out
}
