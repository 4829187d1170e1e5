package httpapi

import (
	"context"
	"log/slog"
	"net/http"
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

// instrument wraps every request: a request id (the client's
// X-Request-Id if sane, else a new one), panic recovery, the latency
// metric by route pattern, a bound on requests in flight (429 beyond) and
// an access log line.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 || strings.ContainsAny(id, " \t\r\n") {
			id = ulid.Make().String()
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyLogger, s.log)
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				s.log.ErrorContext(ctx, "panic in handler", "panic", v, "path", r.URL.Path, "request_id", id)
				if rec.status == 0 {
					writeProblem(rec, problemOf(nil))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.duration.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
			s.log.LogAttrs(ctx, slog.LevelDebug, "http", slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", rec.status), slog.Duration("took", time.Since(start)), slog.String("request_id", id))
		}()
		select {
		case s.inFlight <- struct{}{}:
			defer func() { <-s.inFlight }()
		default:
			writeError(rec, r, errTooBusy)
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// authed wraps a /v1 handler: it requires a valid bearer token and one of
// the roles given.
func (s *Server) authed(roles []domain.Role, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authz := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(authz, "Bearer ")
		if !ok && !hasClientCert(r) { // clientcert.go: mTLS banks need no token
			s.authFailures.WithLabelValues("missing").Inc()
			writeError(w, r, auth.ErrUnauthenticated)
			return
		}
		p, err := s.verifyCaller(r, token, ok)
		if err != nil {
			s.authFailures.WithLabelValues("invalid").Inc()
			s.log.WarnContext(r.Context(), "authentication failed", "path", r.URL.Path, "request_id", requestIDOf(r.Context()), "remote", r.RemoteAddr, "err", err)
			writeError(w, r, auth.ErrUnauthenticated)
			return
		}
		allowed := false
		for _, role := range roles {
			allowed = allowed || role == p.Role
		}
		if !allowed {
			s.denied.WithLabelValues(string(p.Role)).Inc()
			s.log.WarnContext(r.Context(), "access denied", "path", r.URL.Path, "role", p.Role, "subject", p.Subject, "request_id", requestIDOf(r.Context()))
			writeError(w, r, errForbidden)
			return
		}
		ctx := context.WithValue(r.Context(), keyPrincipal, p)
		if err := h(w, r.WithContext(ctx)); err != nil {
			writeError(w, r, err)
		}
	})
}
