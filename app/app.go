// Package app assembles the ledger service: the event store, the read
// models, the verifiable log, the command handlers and the HTTP API, with
// their background work. The ledger binary and the end-to-end tests start
// the service through it, so both run the same wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/handlers"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
	"github.com/attestation-ledger/attestation-ledger/internal/dirlock"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/internal/follow"
	"github.com/attestation-ledger/attestation-ledger/internal/provenance"
	"github.com/attestation-ledger/attestation-ledger/internal/tlsconfig"
	"github.com/attestation-ledger/attestation-ledger/journal"
	"github.com/attestation-ledger/attestation-ledger/projections"
	"github.com/attestation-ledger/attestation-ledger/queries"
)

// Config configures the service.
type Config struct {
	// DataDir is required: it holds the embedded event store, the read
	// models, the verifiable log and, unless KeysDir is set, the keys dir.
	DataDir string
	// KeysDir is optional: the keys dir (every key of the deployment;
	// default <DataDir>/keys). Missing keys are created at start.
	KeysDir string
	// Replicas is optional: the replicas of the ledger stream and of every
	// bucket (default 1; more needs NATSURL, a cluster).
	Replicas int
	// NATSURL is optional: an external NATS server or cluster; empty starts
	// the embedded server in DataDir.
	NATSURL string
	// NATSCredentials is optional: a NATS credentials file for NATSURL.
	NATSCredentials string
	// NATSMonitorURL is optional: the monitoring endpoints of NATSURL's
	// servers (comma-separated), to check each syncs every write.
	NATSMonitorURL string
	// NATSListen is optional: host:port on which the embedded NATS server
	// accepts clients; empty listens on no port.
	NATSListen string
	// Origin is optional: the origin of the signed checkpoints (default
	// integrity.DefaultOrigin).
	Origin string
	// JWKS is optional: also accept tokens of an external OIDC issuer,
	// verified with the keys of its JWK Set.
	JWKS *auth.JWKSConfig
	// TokenLifetimes is optional: the maximum lifetimes of the server's
	// own tokens by role (auth.DefaultLifetimes by default).
	TokenLifetimes auth.Lifetimes
	// AuditInterval is optional: how often the service re-verifies its log
	// against its checkpoints (default 10 minutes; the first audit runs at
	// start, before serving, and refuses a store that does not match).
	AuditInterval time.Duration
	// TLS is optional: the HTTP API's certificate, key and client CA
	// (mTLS for banks). Checked before anything opens; the service's TLS
	// configuration is then App.TLS.
	TLS tlsconfig.Files
	// SyslogAddr is optional: the host:port of a syslog collector the
	// security journal is shipped to (RFC 5424 over TCP).
	SyslogAddr string
	// SyslogTLSCA is optional: a PEM file of the CA the collector's
	// certificate chains to; set, the journal is shipped over TLS (RFC
	// 5425).
	SyslogTLSCA string
	// JournalRetention is optional: how long the security journal keeps
	// its entries (default journal.DefaultRetention, 12 months).
	JournalRetention time.Duration
	// Logger is optional (slog.Default by default).
	Logger *slog.Logger
	// HTTP is optional: adjusts the HTTP API's configuration before it is
	// built (tests use it).
	HTTP func(*httpapi.Config)
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.AuditInterval == 0 {
		c.AuditInterval = 10 * time.Minute
	}
}

// Validate reports every problem of the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("app: DataDir is required"))
	}
	if c.AuditInterval < 0 {
		errs = append(errs, errors.New("app: AuditInterval must not be negative"))
	}
	if c.JournalRetention < 0 {
		errs = append(errs, errors.New("app: JournalRetention must not be negative"))
	}
	if c.SyslogTLSCA != "" && c.SyslogAddr == "" {
		errs = append(errs, errors.New("app: SyslogTLSCA needs SyslogAddr"))
	}
	return errors.Join(errs...)
}

// App is a started service.
type App struct {
	cfg        Config
	log        *slog.Logger
	Store      *jetstream.Store
	ReadModels *projections.ReadModels
	Ledger     *integrity.Log
	// Journal is the security journal (package journal).
	Journal *journal.Journal
	// journalOf is Journal for the background work that may start before
	// it opens or run after it closes (the provenance check's callback).
	journalOf atomic.Pointer[journal.Journal]
	Signer    *auth.Signer
	// Keys is the keys dir the service uses (the provenance key loads
	// from it: Keys.LoadProvenanceKey).
	Keys     datadir.Keys
	Registry *prometheus.Registry
	// Handler is the HTTP API.
	Handler http.Handler
	// TLS is the HTTP API's TLS material when Config.TLS is set, nil
	// otherwise: serve with TLS.Config(); TLS.Reload() on SIGHUP.
	TLS *tlsconfig.Server

	lock       *dirlock.Lock // the data dir, held until Close
	commands   *handlers.Commands
	provenance *provenance.Keyring
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	errs       chan error
	closed     sync.Once
}

// Start opens everything and starts the background work (projections, the
// verifiable log, the self-audit). Close stops them.
func Start(ctx context.Context, cfg Config) (_ *App, err error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tlsServer, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	// A private data dir: 0700, narrowed if others may enter it.
	if tightened, err := datadir.New(cfg.DataDir).Prepare(); err != nil {
		return nil, err
	} else if tightened {
		cfg.Logger.Warn("the data dir was accessible to group or others; narrowed to 0700", "event", "datadir.tightened", "data_dir", datadir.Abs(cfg.DataDir))
	}
	// One process per data dir: a second one would corrupt the store, the
	// read models and the verifiable log.
	lock, err := dirlock.Acquire(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: cfg.Logger, Registry: prometheus.NewRegistry(), errs: make(chan error, 4), lock: lock, TLS: tlsServer}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	defer func() {
		if err != nil {
			cancel()
			a.closeResources()
		}
	}()
	if err := a.open(ctx, datadir.New(cfg.DataDir)); err != nil {
		return nil, err
	}
	if err := a.serveHTTP(ctx, runCtx); err != nil {
		return nil, err
	}
	// One reader of the log feeds the read models and the verifiable log.
	a.background(runCtx, "log follower", a.followLog)
	a.background(runCtx, "self-audit", a.auditLoop)
	a.background(runCtx, "checkpoint journal", a.journalCheckpoints)
	a.journalStart()
	return a, nil
}

// open opens the event store, the read models, the verifiable log and the
// token key.
func (a *App) open(ctx context.Context, dirs datadir.Layout) (err error) {
	cfg := a.cfg
	keys := dirs.KeysDir(cfg.KeysDir)
	a.Keys = keys
	storeCfg, err := a.openKeys(dirs, keys)
	if err != nil {
		return err
	}
	storeCfg.DataDir, storeCfg.Listen, storeCfg.URL, storeCfg.CredentialsFile = dirs.Store, cfg.NATSListen, cfg.NATSURL, cfg.NATSCredentials
	storeCfg.MonitorURL = cfg.NATSMonitorURL
	storeCfg.Replicas, storeCfg.Logger = cfg.Replicas, cfg.Logger.With("component", "eventstore")
	a.Store, err = jetstream.Open(ctx, storeCfg)
	if err != nil {
		return fmt.Errorf("open event store: %w", err)
	}
	ring, err := keys.LoadProvenanceKeys()
	if err != nil {
		return err
	}
	if a.provenance, err = a.openProvenance(ctx, ring[0], ring[1:]...); err != nil {
		return err
	}
	a.ReadModels, err = projections.Open(ctx, projections.Config{
		Dir: dirs.ReadModels, Store: a.Store, Registerer: a.Registry, Provenance: a.provenance,
		Logger: cfg.Logger.With("component", "projections"),
	})
	if err != nil {
		return fmt.Errorf("open read models: %w", err)
	}
	lcfg := integrity.Config{
		Dir: dirs.Ledger, KeyDir: keys.Dir, Origin: cfg.Origin,
		Logger: cfg.Logger.With("component", "integrity"),
	}
	if err := a.shareCheckpoints(ctx, &lcfg); err != nil {
		return err
	}
	a.Ledger, err = integrity.Open(ctx, lcfg)
	if err != nil {
		return fmt.Errorf("open verifiable log: %w", err)
	}
	// Before serving: an emptied or replaced store must never be served.
	if err := a.Ledger.CheckStore(ctx, a.Store); err != nil {
		return fmt.Errorf("start-up check: %w", err)
	}
	if err := a.registerLedgerMetrics(); err != nil {
		return err
	}
	if err := a.openJournal(ctx, keys.Dir); err != nil {
		return err
	}
	a.Signer, err = auth.LoadKeyFile(keys.TokenKey)
	return err
}

// serveHTTP builds the command handlers, the query service and the HTTP
// API over what open opened. runCtx lives as long as the service.
func (a *App) serveHTTP(ctx, runCtx context.Context) error {
	keys, err := a.Store.IdempotencyKeys(ctx)
	if err != nil {
		return err
	}
	index, err := a.Store.AttestationIndex(ctx)
	if err != nil {
		return err
	}
	qs, err := queries.New(queries.Config{Store: a.Store, ReadModels: a.ReadModels, Ledger: a.Ledger, Provenance: a.provenance})
	if err != nil {
		return err
	}
	a.commands, err = handlers.NewCommands(handlers.Config{Store: a.Store, Index: index, Lookup: qs, Keys: keys, Registerer: a.Registry, Provenance: a.provenance,
		Logger: a.cfg.Logger.With("component", "handlers")})
	if err != nil {
		return err
	}
	if a.cfg.TokenLifetimes != nil {
		a.Signer.SetLifetimes(a.cfg.TokenLifetimes)
	}
	var verifier auth.Verifier = a.Signer
	if a.cfg.JWKS != nil {
		// The key set is refreshed until the service stops.
		jcfg := *a.cfg.JWKS
		if jcfg.Logger == nil {
			jcfg.Logger = a.cfg.Logger.With("component", "auth")
		}
		jwks, err := auth.NewJWKSVerifier(runCtx, jcfg)
		if err != nil {
			return err
		}
		verifier = auth.NewChain(a.Signer, jwks)
	}
	// Revoked tokens: the cluster's list, watched until the service stops
	// (the ones revoked so far are in before the first request).
	revoked := auth.NewRevocationList()
	revocations, err := a.Store.Revocations(ctx)
	if err != nil {
		return err
	}
	if err := revocations.Watch(runCtx, revoked); err != nil {
		return err
	}
	verifier = auth.Revoking(verifier, revoked)
	hc := httpapi.Config{
		Commands: a.commands, Queries: qs, Store: a.Store, ReadModels: a.ReadModels, Signer: a.Signer, Verifier: verifier, Ledger: a.Ledger,
		Registry: a.Registry, Ready: a.ready, Untrusted: a.provenance.Untrusted, Logger: a.cfg.Logger.With("component", "http"),
		Revocations: revoked, Revoker: revocations,
	}
	if a.Journal != nil {
		hc.SecurityEvents = newJournalSink(a.Journal, a.log.With("component", "journal"))
		hc.AccessLog = a.accessLog
	}
	hc.SecurityReport = a.SecurityReport
	if a.cfg.HTTP != nil {
		a.cfg.HTTP(&hc)
	}
	a.Handler, err = httpapi.New(hc)
	return err
}

// background runs work until ctx ends; a failure is reported on Errors.
func (a *App) background(ctx context.Context, name string, work func(context.Context) error) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := work(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("background work stopped", "work", name, "err", err)
			a.errs <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// followLog feeds the read models and the verifiable log from one follower
// of the log. A store that cannot be reached (a cluster electing a new
// leader, a lost connection) is waited for: the follower starts again from
// each consumer's checkpoint, losing and repeating nothing. Any other
// failure (an integrity alarm, a broken read model) stops the service.
func (a *App) followLog(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	for {
		started := time.Now()
		err := follow.Run(ctx, a.Store, follow.Options{}, a.ReadModels.Consumer(), a.Ledger.Consumer())
		if err == nil || ctx.Err() != nil {
			return nil
		}
		full := diskFull(err)
		if errs.KindOf(err) != errs.Unavailable && !full {
			return err
		}
		if time.Since(started) > time.Minute {
			backoff = 250 * time.Millisecond // a new outage
		}
		if full {
			// Nothing unsaved was acknowledged: wait for space, not ready.
			a.log.Error("log follower: the data dir's disk is full; following again when there is space", "retry_in", backoff, "err", err)
		} else {
			a.log.Warn("log follower: the store is unavailable; following again from the checkpoints", "retry_in", backoff, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Errors reports a background failure that stops the service.
func (a *App) Errors() <-chan error { return a.errs }

// auditLoop re-verifies the log against the latest checkpoint on a
// schedule; the outcome shows in /readyz and the metrics.
func (a *App) auditLoop(ctx context.Context) error {
	t := time.NewTicker(a.cfg.AuditInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			res := a.Ledger.SelfAudit(ctx, a.Store)
			entry := journal.Entry{Action: journal.AuditResult, Result: journal.Success, Subject: "ledger",
				Object: strconv.FormatInt(res.CheckpointSize, 10), Detail: map[string]string{"leaves": strconv.FormatInt(res.Leaves, 10)}}
			if err := res.Err(); err != nil {
				a.log.Error("INTEGRITY self-audit failed", "event", "integrity.audit", "err", err, "first_bad_leaf", res.FirstBadLeaf)
				entry.Result, entry.Detail["firstBadLeaf"] = journal.Failure, strconv.FormatInt(res.FirstBadLeaf, 10)
			} else {
				a.log.Info("self-audit passed", "event", "integrity.audit", "leaves", res.Leaves, "checkpoints", res.CheckpointsChecked, "took", res.Duration)
			}
			a.record(entry)
		}
	}
}

// ready is the service's readiness beyond the store's reachability: the
// store is the one it opened (not an emptied or replaced cluster), read
// models caught up, no dead letters, and the last self-audit (if any)
// passed.
func (a *App) ready(ctx context.Context) error {
	var errs []error
	if err := checkDisk(a.cfg.DataDir); err != nil {
		errs = append(errs, err)
	}
	if err := a.Store.Replaced(); err != nil {
		errs = append(errs, err)
	}
	if err := a.ReadModels.Ready(ctx); err != nil {
		errs = append(errs, err)
	}
	if res, ok := a.Ledger.LastAudit(); ok && res.Err() != nil {
		errs = append(errs, res.Err())
	}
	if a.Journal != nil {
		if err := a.Journal.Ready(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *App) registerLedgerMetrics() error {
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ledger_checkpoint_size", Help: "Tree size of the latest signed checkpoint.",
	}, func() float64 {
		cp, _ := a.Ledger.Latest()
		return float64(cp.Size)
	})
	audit := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ledger_self_audit_ok", Help: "1 if the last self-audit of the ledger passed (or none ran yet), 0 if it failed.",
	}, func() float64 {
		if res, ok := a.Ledger.LastAudit(); ok && !res.OK() {
			return 0
		}
		return 1
	})
	counter := func(name, help string, f func(jetstream.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
			return float64(f(a.Store.Stats()))
		})
	}
	store := []prometheus.Collector{
		counter("ledger_store_appends_total", "Appends committed by the event store's group commit.", func(s jetstream.Stats) uint64 { return s.Appends }),
		counter("ledger_store_events_total", "Events committed by the event store's group commit.", func(s jetstream.Stats) uint64 { return s.Events }),
		counter("ledger_store_publishes_total", "Atomic batches or single messages sent to JetStream (events per publish = batch size).", func(s jetstream.Stats) uint64 { return s.Publishes }),
		counter("ledger_store_batch_splits_total", "Batches refused whole and split to isolate a conflicting append.", func(s jetstream.Stats) uint64 { return s.Splits }),
	}
	for _, c := range append([]prometheus.Collector{size, audit}, store...) {
		if err := a.Registry.Register(c); err != nil {
			return fmt.Errorf("register ledger metrics: %w", err)
		}
	}
	return nil
}

// Close stops the background work and closes everything, newest first.
func (a *App) Close() error {
	var err error
	a.closed.Do(func() {
		a.record(journal.Entry{Action: journal.ServiceStop, Result: journal.Success, Subject: "ledger"})
		if a.cancel != nil {
			a.cancel()
		}
		a.wg.Wait()
		if a.Ledger != nil {
			// Hand publishing over at once rather than after the lease's ttl.
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := a.Ledger.Release(rctx); err != nil {
				a.log.Warn("cannot release the checkpoint publisher lease", "err", err)
			}
			cancel()
		}
		if a.commands != nil {
			a.commands.WaitIndexed() // before the store closes under them
		}
		err = a.closeResources()
	})
	return err
}

func (a *App) closeResources() error {
	var errs []error
	errs = append(errs, a.closeJournal()) // before the store it publishes to
	if a.Ledger != nil {
		errs = append(errs, a.Ledger.Close())
	}
	if a.ReadModels != nil {
		errs = append(errs, a.ReadModels.Close())
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	errs = append(errs, a.lock.Release())
	return errors.Join(errs...)
}
