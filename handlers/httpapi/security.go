package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
)

// SecurityEvent is one authentication or access decision of the API: a
// caller authenticated, or was refused (401), forbidden (403) or told a
// resource of another tenant does not exist (404); or one of the other
// facts a security journal keeps: a read of a company's or an
// attestation's record (kind KindRead, for "who looked at my file"), an
// admin action (KindAdmin), a quota refusal (KindThrottle). It never
// holds the token or the request body.
type SecurityEvent struct {
	// Time is when it happened (UTC).
	Time time.Time
	// Kind is "authentication" (the token was checked) or "denial" (an
	// authenticated caller was refused).
	Kind string
	// Result is one of the Result* constants.
	Result string
	// Status is the HTTP status answered (200 for a success, which is
	// decided before the handler runs).
	Status int
	// Role and Subject are the caller's, empty when not authenticated.
	Role    domain.Role
	Subject string
	// Tenant is the company (SIREN) or bank (code) the caller acts for,
	// empty for the other roles.
	Tenant string
	// Method is the request's method (one of a fixed set: methodLabel)
	// and Route its matched pattern, never the raw path.
	Method, Route string
	// Remote is the peer's address; RequestID the request's id.
	Remote, RequestID string
	// Object is what a read or an admin action was about: a SIREN, an
	// attestation number, a request id, a token id; empty otherwise.
	Object string
	// Detail holds a few more facts (the view read, the operation, the
	// limit hit, a count), never a token or a body.
	Detail map[string]string
}

// Kinds of security events besides "authentication" and "denial".
const (
	// KindRead: a caller read a record; Result is RecordCompany or
	// RecordAttestation, Object its SIREN or number.
	KindRead = "read"
	// KindAdmin: an admin action; Result is ResultSuccess, Object what it
	// acted on, Detail["operation"] what it did.
	KindAdmin = "admin"
	// KindThrottle: requests refused by a quota (at most one event a
	// second, Detail["refused"] counting them); Result is the limit hit.
	KindThrottle = "throttle"
)

// Records a KindRead event is about.
const (
	RecordCompany     = "company"
	RecordAttestation = "attestation"
)

// Results of security events.
const (
	ResultSuccess   = "success"
	ResultMissing   = "missing-token"
	ResultInvalid   = "invalid-token"
	ResultRevoked   = "revoked-token"
	ResultForbidden = "forbidden"
	ResultHidden    = "hidden"
)

// SecurityEvents receives the security events of the API: the one place
// they are emitted, so that a security journal can record them. Emit must
// be safe for concurrent use and must not block for long.
type SecurityEvents interface {
	Emit(ctx context.Context, e SecurityEvent)
}

// security logs and counts every security event, and hands it to the
// configured sink (Config.SecurityEvents) if any.
type security struct {
	log   *slog.Logger
	count *prometheus.CounterVec
	sink  SecurityEvents
	now   func() time.Time
}

func newSecurity(log *slog.Logger, sink SecurityEvents, now func() time.Time) *security {
	return &security{
		log: log, sink: sink, now: now,
		count: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_security_events_total",
			Help: "Authentications and denials of the API, by kind, result and role (none when unauthenticated).",
		}, []string{"kind", "result", "role"}),
	}
}

// emit records one event about request r.
func (s *security) emit(r *http.Request, kind, result string, status int, p auth.Principal) {
	e := SecurityEvent{
		Time: s.now().UTC(), Kind: kind, Result: result, Status: status,
		Role: p.Role, Subject: p.Subject, Method: methodLabel(r.Method), Route: routeLabel(r),
		Remote: r.RemoteAddr, RequestID: requestIDOf(r.Context()),
	}
	if p.Role == domain.RoleCompany || p.Role == domain.RoleBank {
		e.Tenant = p.Subject
	}
	role := string(p.Role)
	if role == "" {
		role = "none"
	}
	s.count.WithLabelValues(kind, result, role).Inc()
	level := slog.LevelInfo
	if result != ResultSuccess {
		level = slog.LevelWarn
	}
	s.log.LogAttrs(r.Context(), level, "security", slog.String("event", "security."+kind), slog.String("result", result),
		slog.Int("status", status), slog.String("role", string(p.Role)), slog.String("subject", p.Subject),
		slog.String("tenant", e.Tenant), slog.String("method", e.Method), slog.String("route", e.Route),
		slog.String("remote", e.Remote), slog.String("request_id", e.RequestID))
	if s.sink != nil {
		s.sink.Emit(r.Context(), e)
	}
}

// record hands an event of another kind than authentication or denial to
// the sink (and counts it); reads are logged at debug level only.
func (s *security) record(r *http.Request, kind, result, object string, detail map[string]string) {
	if s == nil {
		return
	}
	p, _ := r.Context().Value(keyPrincipal).(auth.Principal)
	e := SecurityEvent{
		Time: s.now().UTC(), Kind: kind, Result: result, Status: http.StatusOK,
		Role: p.Role, Subject: p.Subject, Method: methodLabel(r.Method), Route: routeLabel(r),
		Remote: r.RemoteAddr, RequestID: requestIDOf(r.Context()), Object: object, Detail: detail,
	}
	if p.Role == domain.RoleCompany || p.Role == domain.RoleBank {
		e.Tenant = p.Subject
	}
	role := string(p.Role)
	if role == "" {
		role = "none"
	}
	s.count.WithLabelValues(kind, result, role).Inc()
	if kind != KindRead {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "security", slog.String("event", "security."+kind), slog.String("result", result),
			slog.String("role", role), slog.String("subject", p.Subject), slog.String("object", object),
			slog.String("route", e.Route), slog.String("request_id", e.RequestID))
	}
	if s.sink != nil {
		s.sink.Emit(r.Context(), e)
	}
}

// recordRead records that the caller of r read a record (RecordCompany or
// RecordAttestation) named object, through view ("record", "history",
// "proof", "asOf", "list").
func recordRead(r *http.Request, record, object, view string) {
	securityOf(r.Context()).record(r, KindRead, record, object, map[string]string{"view": view})
}

// recordAdmin records an admin action on object.
func recordAdmin(r *http.Request, operation, object string) {
	securityOf(r.Context()).record(r, KindAdmin, ResultSuccess, object, map[string]string{"operation": operation})
}

// securityOf returns the emitter instrument put in the request's context
// (nil outside instrument).
func securityOf(ctx context.Context) *security {
	s, _ := ctx.Value(keySecurity).(*security)
	return s
}
