// Package httpapi is the HTTP transport of the ledger (docs/API.md):
// it decodes, authenticates, refuses the roles package access forbids a
// route, calls the command handlers or the query service, and answers JSON
// or RFC 9457 problems.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/attestation-ledger/attestation-ledger/access"
	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/handlers"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/queries"
	"github.com/attestation-ledger/attestation-ledger/securityreport"
)

// Config configures the HTTP server.
type Config struct {
	// Commands is required.
	Commands *handlers.Commands
	// Queries is required: the query service.
	Queries *queries.Service
	// Store is required: the ledger entries and readiness.
	Store eventstore.Store
	// ReadModels is required: read-your-writes, status and rebuilds.
	ReadModels ReadModels
	// Signer is required: verifies bearer tokens signed by the server's key.
	Signer *auth.Signer
	// Verifier is optional: verifies bearer tokens when more than the
	// server's own are accepted (an external OIDC issuer); Signer when nil.
	Verifier auth.Verifier
	// Ledger is required: the verifiable log (checkpoints and proofs).
	Ledger *integrity.Log
	// Registry is required: the metrics registry served at /metrics.
	Registry *prometheus.Registry
	// Untrusted is optional: how many events of the store failed their
	// provenance check, and the first positions, for /readyz.
	Untrusted func() (count int, first []uint64)
	// Ready is optional: extra readiness checks for /readyz.
	Ready func(ctx context.Context) error
	// Now is optional: the clock (time.Now by default).
	Now func() time.Time
	// MaxInFlight is optional: requests served at once before answering
	// 429 (default 4096), all principals together.
	MaxInFlight int
	// Quotas is optional: the per-principal limits (DefaultQuotas when
	// nil), which refuse a flooding principal before it fills
	// MaxInFlight.
	Quotas *Quotas
	// Logger is optional (slog.Default by default).
	Logger *slog.Logger
	// AccessLog is optional: the reads of a company's file, from the
	// security journal (GET /v1/companies/{siren}/access-log answers 503
	// without it).
	AccessLog AccessLog
	// SecurityEvents is optional: receives every authentication and
	// denial (they are logged and counted in any case).
	SecurityEvents SecurityEvents
	// Revocations is optional: the revoked token ids this instance
	// knows, served by GET /v1/revocations (empty when nil). The Verifier
	// is expected to refuse them (auth.Revoking).
	Revocations *auth.RevocationList
	// Revoker is optional: records a revocation in the cluster, for POST
	// /v1/admin/revocations (503 when nil).
	Revoker Revoker
	// SecurityReport is optional: builds the security report of a
	// period, for GET /v1/reports/security (503 when nil).
	SecurityReport func(ctx context.Context, from, to time.Time) (securityreport.Report, error)
}

// Revoker records a token revocation where every instance of the
// deployment learns it (jetstream.Revocations).
type Revoker interface {
	Revoke(ctx context.Context, r auth.Revocation) error
}

func (c *Config) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 4096
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Verifier == nil && c.Signer != nil {
		c.Verifier = c.Signer
	}
}

// Validate reports every missing setting.
func (c Config) Validate() error {
	var errs []error
	if c.Commands == nil {
		errs = append(errs, errors.New("httpapi: Commands is required"))
	}
	if c.Queries == nil {
		errs = append(errs, errors.New("httpapi: Queries is required"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("httpapi: Store is required"))
	}
	if c.ReadModels == nil {
		errs = append(errs, errors.New("httpapi: ReadModels is required"))
	}
	if c.Signer == nil {
		errs = append(errs, errors.New("httpapi: Signer is required"))
	}
	if c.Ledger == nil {
		errs = append(errs, errors.New("httpapi: Ledger is required"))
	}
	if c.Registry == nil {
		errs = append(errs, errors.New("httpapi: Registry is required"))
	}
	return errors.Join(errs...)
}

// Server is the HTTP API.
type Server struct {
	cfg          Config
	log          *slog.Logger
	handler      http.Handler
	inFlight     chan struct{}
	metrics      *httpMetrics
	authFailures *prometheus.CounterVec
	denied       *prometheus.CounterVec
	security     *security
	quota        *limiter
}

// New returns the HTTP API.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newHTTPMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, inFlight: make(chan struct{}, cfg.MaxInFlight), metrics: m,
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_auth_failures_total", Help: "Requests refused for a missing or invalid token.",
		}, []string{"reason"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_access_denied_total", Help: "Requests refused because the role may not do this.",
		}, []string{"role"}),
		security: newSecurity(cfg.Logger, cfg.SecurityEvents, cfg.Now),
	}
	for _, c := range []prometheus.Collector{s.authFailures, s.denied, s.security.count} {
		if err := cfg.Registry.Register(c); err != nil {
			return nil, err
		}
	}
	q := DefaultQuotas()
	if cfg.Quotas != nil {
		q = *cfg.Quotas
	}
	// The real clock: Config.Now may be a business clock.
	if s.quota, err = newLimiter(q, time.Now, cfg.Logger, cfg.Registry); err != nil {
		return nil, err
	}
	s.handler = s.instrument(s.routes())
	return s, nil
}

// MaxHeaderBytes bounds a request's header (all lines): a token and a
// few headers need far less than 16 KiB; more is answered 431.
const MaxHeaderBytes = 16 << 10

// NewHTTPServer returns the http.Server for h with the API's limits: the
// header size (MaxHeaderBytes) and the read, write and idle timeouts.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		MaxHeaderBytes:    MaxHeaderBytes,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// metricsHandler serves the registry in the Prometheus format.
func (s *Server) metricsHandler() func(http.ResponseWriter, *http.Request) error {
	h := promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{Registry: s.cfg.Registry})
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// roles returns the roles that may call a route at all (package access).
func roles(a access.Action) []domain.Role { return access.Roles(a) }

// endpoint is one route of the API: a ServeMux pattern and its handler.
type endpoint struct {
	pattern string
	handler http.Handler
}

// endpoints lists every route of the API. openapi.json documents exactly
// these (openapi_test.go checks it both ways).
func (s *Server) endpoints() []endpoint {
	return []endpoint{
		{"POST /v1/loan-requests", s.authed(roles(access.SubmitLoanRequest), s.submitLoanRequest)},
		{"POST /v1/loan-requests/batch", s.authed(roles(access.SubmitLoanRequestBatch), s.submitBatch)},
		{"POST /v1/loan-requests/{requestId}/state-decision", s.authed(roles(access.RecordStateDecision), s.recordStateDecision)},
		{"POST /v1/attestations/{number}/grant", s.authed(roles(access.GrantLoan), s.grantLoan)},
		{"POST /v1/attestations/{number}/cancel", s.authed(roles(access.CancelAttestation), s.cancelAttestation)},

		{"GET /v1/loan-requests/{requestId}", s.authed(roles(access.ReadLoanRequest), s.getLoanRequest)},
		{"GET /v1/attestations/{number}", s.authed(roles(access.ReadAttestation), s.getAttestation)},
		{"GET /v1/attestations", s.authed(roles(access.ListAttestations), s.listAttestations)},
		{"GET /v1/companies/{siren}", s.authed(roles(access.ReadCompany), s.getCompany)},
		{"GET /v1/companies/{siren}/history", s.authed(roles(access.ReadHistory), s.getHistory)},
		{"GET /v1/companies/{siren}/access-log", s.authed(roles(access.ReadAccessLog), s.getAccessLog)},
		{"GET /v1/events", s.authed(roles(access.ReadEvents), s.getEvents)},
		{"GET /v1/reports/pge", s.authed(roles(access.ReadReport), s.getReport)},
		{"GET /v1/reports/security", s.authed(roles(access.ReadSecurityReport), s.getSecurityReport)},

		{"GET /v1/ledger/checkpoint", s.authed(roles(access.ReadCheckpoints), s.getCheckpoint)},
		{"GET /v1/ledger/checkpoints", s.authed(roles(access.ReadCheckpoints), s.getCheckpoints)},
		{"GET /v1/ledger/verifier-key", s.authed(roles(access.ReadCheckpoints), s.getVerifierKey)},
		{"GET /v1/ledger/entries", s.authed(roles(access.ReadEntries), s.getEntries)},
		{"GET /v1/ledger/proofs/inclusion", s.authed(roles(access.ProveInclusion), s.getInclusionProof)},
		{"GET /v1/ledger/proofs/consistency", s.authed(roles(access.ProveConsistency), s.getConsistencyProof)},
		// The roles of a read, not of a proof: a malformed number is a 400
		// before the role is refused (getAttestationProof checks it).
		{"GET /v1/attestations/{number}/proof", s.authed(roles(access.ReadAttestation), s.getAttestationProof)},

		{"POST /v1/admin/projections/rebuild", s.authed(roles(access.RebuildProjections), s.rebuildProjections)},
		{"POST /v1/admin/revocations", s.authed(roles(access.RevokeToken), s.revokeToken)},
		{"GET /v1/revocations", s.authed(roles(access.ReadRevocations), s.getRevocations)},

		{"GET /healthz", http.HandlerFunc(s.healthz)},
		// A bare status for anyone (a load balancer); the checks for an
		// auditor or an admin.
		{"GET /readyz", http.HandlerFunc(s.readyz)},
		// Volumes and internals: auditors and admins only.
		{"GET /metrics", s.authed(roles(access.ReadOps), s.metricsHandler())},
		{"GET /openapi.json", http.HandlerFunc(s.openAPI)},
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, e := range s.endpoints() {
		mux.Handle(e.pattern, e.handler)
	}
	// Unknown paths and wrong methods answer problems too: 404, or 405
	// with the Allow header.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, r, fmt.Errorf("%w: %s %s (allowed: %s)", errMethod, r.Method, r.URL.Path, strings.Join(allow, ", ")))
			return
		}
		writeError(w, r, domain.ErrNotFound)
	})
}
