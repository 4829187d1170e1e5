package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
	keyLogger
	keySecurity
)

// loggerOf returns the server's logger, which instrument puts in every
// request's context, so that free functions such as writeError log through
// the injected logger too. Only a handler served outside instrument (none
// is) falls back to the default logger, as Config.Logger does.
func loggerOf(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

func requestIDOf(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

func principalOf(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(keyPrincipal).(auth.Principal)
	return p
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the writer underneath (to flush
// a stream).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// httpMetrics are the transport's Prometheus metrics.
type httpMetrics struct {
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ledger_http_request_seconds",
		Help:    "HTTP request latency by route and status code.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"route", "method", "code"})}
	if reg != nil {
		if err := reg.Register(m.duration); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// methodLabel is the method as a metric label or log field: one of the
// methods HTTP defines, else "OTHER", so that a client cannot make up
// label values (each made-up method was a new series of /metrics).
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// routeLabel is the route as a metric label or log field: the pattern the
// request matched, never its raw path.
func routeLabel(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// maxRequestIDLen bounds a client's X-Request-Id.
const maxRequestIDLen = 64

// validRequestID reports whether a client's X-Request-Id may be kept:
// 1 to 64 characters among letters, digits and "-._:" (a ULID, a UUID, a
// trace id). Anything else is replaced by a new id before it reaches an
// event, a log line or an answer.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == ':') {
			return false
		}
	}
	return true
}

// instrument wraps every request: a request id (the client's
// X-Request-Id if valid, else a new one), the headers every answer
// carries (Cache-Control: no-store, X-Content-Type-Options: nosniff),
// panic recovery, the latency metric by route pattern and method label,
// the quota of the unauthenticated (enter) and an access log line.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = ulid.Make().String()
		}
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		ctx := context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyLogger, s.log)
		ctx = context.WithValue(ctx, keySecurity, s.security)
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				s.log.ErrorContext(ctx, "panic in handler", "panic", v, "path", r.URL.Path, "request_id", id)
				if rec.status == 0 {
					writeProblem(rec, problemOf(nil))
				}
			}
			route, method := routeLabel(r), methodLabel(r.Method)
			s.metrics.duration.WithLabelValues(route, method, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
			s.log.LogAttrs(ctx, slog.LevelDebug, "http", slog.String("method", method), slog.String("route", route),
				slog.Int("status", rec.status), slog.Duration("took", time.Since(start)), slog.String("request_id", id))
		}()
		if !authenticated(r) {
			// An authenticated request enters in authed, on its principal.
			release, err := s.enter(r, anonymousRole, sourceAddress(r))
			if err != nil {
				writeError(rec, r, err)
				return
			}
			defer release()
		}
		next.ServeHTTP(rec, r)
	})
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header, the scheme matched case-insensitively (RFC 9110: an auth
// scheme is case-insensitive), or false.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticate checks the request's bearer token; a failure is logged,
// counted and answered (401, or 429 when the caller's source address
// has sent too many refused tokens), and ok is false. A token refused on
// its rate is refused again before its signature is checked.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (p auth.Principal, token string, ok bool) {
	token, bearer := bearerToken(r)
	if !bearer && !hasClientCert(r) { // clientcert.go: a bank with a client certificate needs no token
		s.authFailures.WithLabelValues("missing").Inc()
		s.security.emit(r, "authentication", ResultMissing, http.StatusUnauthorized, auth.Principal{})
		if r.Header.Get("Authorization") != "" { // without, counted as anonymous already (instrument)
			if err := s.quota.admitFailedToken(r); err != nil {
				writeError(w, r, err)
				return p, "", false
			}
		}
		writeError(w, r, auth.ErrUnauthenticated)
		return p, "", false
	}
	if bearer {
		if err := s.quota.penalized(r, token); err != nil {
			writeError(w, r, err)
			return p, "", false
		}
	}
	p, err := s.verifyCaller(r, token, bearer)
	if err != nil {
		reason, result := "invalid", ResultInvalid
		if errors.Is(err, auth.ErrRevoked) {
			reason, result = "revoked", ResultRevoked
		}
		s.authFailures.WithLabelValues(reason).Inc()
		s.security.emit(r, "authentication", result, http.StatusUnauthorized, auth.Principal{})
		if err := s.quota.admitFailedToken(r); err != nil {
			writeError(w, r, err)
			return p, "", false
		}
		s.log.DebugContext(r.Context(), "authentication failed", "request_id", requestIDOf(r.Context()), "err", err)
		writeError(w, r, auth.ErrUnauthenticated)
		return p, "", false
	}
	return p, token, true
}

// authed wraps a /v1 handler: it requires a valid bearer token and one of
// the roles given. Every outcome is a security event.
func (s *Server) authed(roles []domain.Role, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, token, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		release, err := s.enterToken(r, p, token)
		if err != nil {
			writeError(w, r, err)
			return
		}
		defer release()
		if !slices.Contains(roles, p.Role) {
			s.denied.WithLabelValues(string(p.Role)).Inc()
			s.security.emit(r, "denial", ResultForbidden, http.StatusForbidden, p)
			writeProblem(w, withRequest(r, problemOf(errForbidden)))
			return
		}
		s.security.emit(r, "authentication", ResultSuccess, http.StatusOK, p)
		ctx := context.WithValue(r.Context(), keyPrincipal, p)
		if err := h(w, r.WithContext(ctx)); err != nil {
			writeError(w, r.WithContext(ctx), err)
		}
	})
}
