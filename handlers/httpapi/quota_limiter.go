package httpapi

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// quotaRoles are the roles in a stable order, and the only values of the
// role label of ledger_http_throttled_total (never a label from client
// input).
var quotaRoles = []string{
	string(domain.RoleCompany), string(domain.RoleBank), string(domain.RoleAuditor),
	string(domain.RoleRegulator), string(domain.RoleAdmin), anonymousRole,
}

const anonymousRole = "anonymous"

// maxPrincipals bounds the principals tracked by one table (source
// addresses are the client's to choose): beyond, new ones share one entry.
const maxPrincipals = 100_000

// idleAfter is how long a principal's entry lives without requests (its
// bucket is full again long before).
const idleAfter = 2 * time.Minute

// errThrottled is a request refused on its principal's quota.
var errThrottled = errs.New(errs.TooBusy, "too many requests from this principal; retry later")

// principalState is one principal's use of its quota.
type principalState struct {
	limiter  *rate.Limiter // nil: no rate limit
	inFlight atomic.Int64
	waits    atomic.Int64
	batches  atomic.Int64
	lastSeen atomic.Int64 // unix nanoseconds
}

// quotaTable tracks the principals of one kind (roles or addresses).
type quotaTable struct {
	mu        sync.Mutex
	m         map[string]*principalState
	lastSweep time.Time
}

// limiter enforces Quotas: it counts every request against its principal
// and refuses those beyond, logging the refusals at most once a second.
type limiter struct {
	q         Quotas
	now       func() time.Time
	log       *slog.Logger
	throttled *prometheus.CounterVec
	tables    map[string]*quotaTable // by role, and anonymousRole
	// roleInFlight counts the requests in flight of each role's principals.
	roleInFlight map[string]*atomic.Int64
	// lastLog and suppressed rate-limit the log of refusals.
	lastLog    atomic.Int64
	suppressed atomic.Int64
	// penalties are the tokens whose principal is out of its rate, until
	// its bucket holds a request again: refused before their signature is
	// checked, so that a flood costs the server next to nothing.
	penaltyMu sync.Mutex
	penalties map[[sha256.Size]byte]penalty
}

func newLimiter(q Quotas, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) (*limiter, error) {
	def := DefaultQuotas()
	q.Roles = maps.Clone(q.Roles) // the caller's map is left alone
	if q.Roles == nil {
		q.Roles = def.Roles
	}
	for r, d := range def.Roles {
		if _, ok := q.Roles[r]; !ok {
			q.Roles[r] = d
		}
	}
	if q.MaxWait <= 0 || q.MaxWait > minPositionTimeout {
		q.MaxWait = minPositionTimeout
	}
	l := &limiter{
		q: q, now: now, log: log, tables: map[string]*quotaTable{}, penalties: map[[sha256.Size]byte]penalty{},
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_http_throttled_total",
			Help: "Requests refused (429) on their principal's quota, by the principal's role (anonymous: by source address).",
		}, []string{"role"}),
	}
	l.roleInFlight = map[string]*atomic.Int64{}
	if q.RoleInFlight == nil {
		l.q.RoleInFlight = def.RoleInFlight
	}
	for _, r := range quotaRoles {
		l.tables[r] = &quotaTable{m: map[string]*principalState{}}
		l.roleInFlight[r] = &atomic.Int64{}
		l.throttled.WithLabelValues(r) // every series exists from the start
	}
	if reg != nil {
		if err := reg.Register(l.throttled); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// roleOf returns the table a role's principals are counted in: their
// role's, or for a role the policy does not know (an external issuer's
// token), the anonymous', the most restrictive.
func (l *limiter) roleOf(role string) string {
	if _, ok := l.tables[role]; !ok {
		return anonymousRole
	}
	return role
}

// quotaOf returns the quota of a role's principals.
func (l *limiter) quotaOf(role string) Quota {
	if role == anonymousRole {
		return l.q.Anonymous
	}
	return l.q.Roles[domain.Role(role)]
}

// state returns the state of one principal, made on first use.
func (l *limiter) state(role, key string) *principalState {
	role = l.roleOf(role)
	t := l.tables[role]
	now := l.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastSweep) > idleAfter/2 {
		t.sweep(now)
	}
	st, ok := t.m[key]
	if !ok {
		if len(t.m) >= maxPrincipals {
			key = "\x00overflow"
			st, ok = t.m[key]
		}
		if !ok {
			st = &principalState{}
			if q := l.quotaOf(role); q.Rate > 0 {
				st.limiter = rate.NewLimiter(rate.Limit(q.Rate), max(q.Burst, 1))
			}
			t.m[key] = st
		}
	}
	st.lastSeen.Store(now.UnixNano())
	return st
}

// sweep forgets the principals idle for idleAfter with nothing in flight.
// The caller holds t.mu.
func (t *quotaTable) sweep(now time.Time) {
	t.lastSweep = now
	cutoff := now.Add(-idleAfter).UnixNano()
	for k, st := range t.m {
		if st.lastSeen.Load() < cutoff && st.inFlight.Load() == 0 && st.waits.Load() == 0 && st.batches.Load() == 0 {
			delete(t.m, k)
		}
	}
}

// admit counts a request against its principal: it returns the release
// to call when the request is done, or errThrottled.
func (l *limiter) admit(r *http.Request, role, key string) (release func(), err error) {
	if l.q.Disabled {
		return func() {}, nil
	}
	role = l.roleOf(role)
	q, st := l.quotaOf(role), l.state(role, key)
	if now := l.now(); st.limiter != nil && !st.limiter.AllowN(now, 1) {
		// Refused until the bucket holds one request again.
		wait := time.Duration((1 - st.limiter.TokensAt(now)) / float64(st.limiter.Limit()) * float64(time.Second))
		return nil, &rateRefusal{until: now.Add(wait), err: l.refuse(r, role, key, "rate")}
	}
	if st.inFlight.Add(1) > int64(q.Concurrent) && q.Concurrent > 0 {
		st.inFlight.Add(-1)
		return nil, l.refuse(r, role, key, "concurrent")
	}
	all, bound := l.roleInFlight[role], l.q.RoleInFlight[role]
	if all.Add(1) > int64(bound) && bound > 0 {
		all.Add(-1)
		st.inFlight.Add(-1)
		return nil, l.refuse(r, role, key, "role")
	}
	return func() { all.Add(-1); st.inFlight.Add(-1) }, nil
}

// authenticated reports whether a request will be counted on its
// principal (authed): it carries a token to a /v1/ route. Any other is
// counted on its source address.
func authenticated(r *http.Request) bool {
	return (r.Header.Get("Authorization") != "" || hasClientCert(r)) && strings.HasPrefix(r.URL.Path, "/v1/")
}

// enter admits a request on its principal's quota first, and only then on
// the server's bound of requests in flight (Config.MaxInFlight), which all
// principals share: a principal beyond its quota is refused before it can
// take a shared slot. It returns the release to call when the request is
// done.
func (s *Server) enter(r *http.Request, role, key string) (release func(), err error) {
	done, err := s.quota.admit(r, role, key)
	if err != nil {
		return nil, err
	}
	select {
	case s.inFlight <- struct{}{}:
		return func() { <-s.inFlight; done() }, nil
	default:
		done()
		return nil, errTooBusy
	}
}

// admitFailedToken counts a refused token against its source address (a
// guessing client is slowed down as the anonymous are).
func (l *limiter) admitFailedToken(r *http.Request) error {
	release, err := l.admit(r, anonymousRole, sourceAddress(r))
	if err != nil {
		return err
	}
	release() // answered at once: only the rate counts
	return nil
}

// admitWait counts a ?minPosition wait against the caller: it returns the
// release to call when the wait is over, or errThrottled.
func (l *limiter) admitWait(r *http.Request) (release func(), err error) {
	if l.q.Disabled {
		return func() {}, nil
	}
	role, key := principalKey(r)
	role = l.roleOf(role)
	q := l.quotaOf(role)
	if q.Waits <= 0 {
		return func() {}, nil
	}
	st := l.state(role, key)
	if st.waits.Add(1) > int64(q.Waits) {
		st.waits.Add(-1)
		return nil, l.refuse(r, role, key, "waits")
	}
	return func() { st.waits.Add(-1) }, nil
}

// admitBatch counts a batch against the caller's Quota.Batches (the
// batch was admitted as one request already): it returns the release to
// call when the batch is answered, or errThrottled.
func (l *limiter) admitBatch(r *http.Request) (release func(), err error) {
	if l.q.Disabled {
		return func() {}, nil
	}
	role, key := principalKey(r)
	role = l.roleOf(role)
	q := l.quotaOf(role)
	if q.Batches <= 0 {
		return func() {}, nil
	}
	st := l.state(role, key)
	if st.batches.Add(1) > int64(q.Batches) {
		st.batches.Add(-1)
		return nil, l.refuse(r, role, key, "batches")
	}
	return func() { st.batches.Add(-1) }, nil
}

// refuse counts and logs (at most once a second, with the number of
// refusals not logged since) a request refused on its quota.
func (l *limiter) refuse(r *http.Request, role, key, limit string) error {
	role = l.roleOf(role)
	l.throttled.WithLabelValues(role).Inc()
	now := l.now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(time.Second) || !l.lastLog.CompareAndSwap(last, now) {
		l.suppressed.Add(1)
		return errThrottled
	}
	suppressed := l.suppressed.Swap(0)
	l.log.WarnContext(r.Context(), "requests throttled", "event", "http.throttled", "role", role, "principal", key,
		"limit", limit, "path", r.URL.Path, "request_id", requestIDOf(r.Context()),
		"remote", r.RemoteAddr, "not_logged_since_last", suppressed)
	securityOf(r.Context()).record(r, KindThrottle, limit, key, map[string]string{
		"role": role, "refused": strconv.FormatInt(suppressed+1, 10)})
	return errThrottled
}

// principalKey returns the role and key a request is counted under: its
// verified principal, or its source address.
func principalKey(r *http.Request) (role, key string) {
	if p, ok := r.Context().Value(keyPrincipal).(auth.Principal); ok && p.Subject != "" {
		return string(p.Role), p.Subject
	}
	return anonymousRole, sourceAddress(r)
}

// sourceAddress is the request's peer address without its port (never a
// forwarding header: those are the client's to write).
func sourceAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// waitBudget returns the context a ?minPosition wait runs under: the
// request's, bounded by MaxWait.
func (l *limiter) waitBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.q.MaxWait)
}
