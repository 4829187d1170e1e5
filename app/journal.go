package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/integrity/jscheckpoints"
	"github.com/attestation-ledger/attestation-ledger/journal"
)

// journalDir is the journal's directory in the data dir (its tree,
// checkpoints and spill file).
const journalDir = "journal"

// openJournal opens the security journal on the event store's JetStream,
// signed with the checkpoint key under the journal's origin.
func (a *App) openJournal(ctx context.Context, keysDir string) error {
	cfg := journal.Config{
		JetStream: a.Store.JetStream(), Replicas: a.Store.Replicas(),
		Dir: filepath.Join(a.cfg.DataDir, journalDir), KeyDir: keysDir, Origin: a.cfg.Origin,
		Retention: a.cfg.JournalRetention, Instance: instanceName(),
		Logger: a.cfg.Logger.With("component", "journal"),
	}
	if a.cfg.NATSURL != "" {
		// Instances of a deployment publish one history of the journal's
		// checkpoints, under a lease, as they do the ledger's.
		cps, err := jscheckpoints.OpenJournal(ctx, a.Store)
		if err != nil {
			return fmt.Errorf("open the journal's shared checkpoints: %w", err)
		}
		lease, err := jscheckpoints.JournalLease(ctx, a.Store, instanceID(), integrity.DefaultLeaseTTL)
		if err != nil {
			return err
		}
		cfg.Checkpoints, cfg.Lease = cps, lease
	}
	if a.cfg.SyslogAddr != "" {
		cfg.Syslog = &journal.SyslogConfig{Addr: a.cfg.SyslogAddr}
		if a.cfg.SyslogTLSCA != "" {
			pem, err := os.ReadFile(a.cfg.SyslogTLSCA)
			if err != nil {
				return fmt.Errorf("syslog TLS CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("syslog TLS CA %s: no PEM certificate", a.cfg.SyslogTLSCA)
			}
			cfg.Syslog.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
	}
	j, err := journal.Open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open the security journal: %w", err)
	}
	a.Journal = j
	a.journalOf.Store(j)
	return a.registerJournalMetrics()
}

// journalStart records the service's start and its non-secret
// configuration (never a key, a credential or a URL's user info).
func (a *App) journalStart() {
	c := a.cfg
	store := "embedded"
	if c.NATSURL != "" {
		store = "external " + redactURLs(c.NATSURL)
	}
	origin := c.Origin
	if origin == "" {
		origin = integrity.DefaultOrigin
	}
	syslog := "off"
	if c.SyslogAddr != "" {
		syslog = c.SyslogAddr
		if c.SyslogTLSCA != "" {
			syslog += " (TLS)"
		}
	}
	jwks := "off"
	if c.JWKS != nil {
		jwks = redactURLs(c.JWKS.URL) + " iss=" + c.JWKS.Issuer + " aud=" + c.JWKS.Audience
	}
	retention := c.JournalRetention
	if retention == 0 {
		retention = journal.DefaultRetention
	}
	a.record(journal.Entry{Action: journal.ServiceStart, Result: journal.Success, Subject: "ledger"})
	a.record(journal.Entry{Action: journal.ConfigStart, Result: journal.Success, Subject: "ledger", Detail: map[string]string{
		"store": store, "replicas": strconv.Itoa(max(c.Replicas, 1)), "origin": origin, "jwks": jwks,
		"syslog": syslog, "journalRetention": retention.String(), "auditInterval": c.AuditInterval.String(),
		"keysDir": c.KeysDir,
	}})
}

// record adds an entry to the journal; an entry the journal refuses is a
// programming error, logged.
func (a *App) record(e journal.Entry) {
	if a.Journal == nil {
		return
	}
	if err := a.Journal.Record(e); err != nil {
		a.log.Error("security journal refused an entry", "action", e.Action, "err", err)
	}
}

// closeJournal records the stop and publishes what is queued (for at
// most 5 s; the rest is spilled to disk and published at the next start).
func (a *App) closeJournal() error {
	if a.Journal == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.journalOf.Store(nil)
	err := a.Journal.Close(ctx)
	a.Journal = nil
	if err != nil {
		return fmt.Errorf("close the security journal: %w", err)
	}
	return nil
}

// redactURLs drops the user info of each comma-separated URL.
func redactURLs(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if err != nil {
			return "(unparsable)"
		}
		return s
	}
	u.User = nil
	return u.String()
}

// instanceName names this instance in the journal: the host name.
func instanceName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "ledger"
	}
	return h
}

// registerJournalMetrics exposes the journal's state: what waits, what
// was lost, and the collector's.
func (a *App) registerJournalMetrics() error {
	gauge := func(name, help string, f func(journal.Status) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			if a.Journal == nil {
				return 0
			}
			return f(a.Journal.Status())
		})
	}
	for _, c := range []prometheus.Collector{
		gauge("ledger_journal_waiting_entries", "Security journal entries waiting for the journal stream (in memory and spilled to disk).",
			func(s journal.Status) float64 { return float64(int64(s.Queued) + s.Spilled) }),
		gauge("ledger_journal_dropped_entries", "Security journal entries lost since start (memory full and spill file unwritable); should stay 0.",
			func(s journal.Status) float64 { return float64(s.Dropped) }),
		gauge("ledger_journal_tree_size", "Leaves of the security journal's Merkle tree.",
			func(s journal.Status) float64 { return float64(s.TreeSize) }),
		gauge("ledger_journal_syslog_backlog", "Security journal entries not yet shipped to the syslog collector.",
			func(s journal.Status) float64 {
				if s.Syslog == nil {
					return 0
				}
				return float64(s.Syslog.Backlog)
			}),
		gauge("ledger_journal_syslog_connected", "1 when connected to the syslog collector (or none is configured), else 0.",
			func(s journal.Status) float64 {
				if s.Syslog != nil && !s.Syslog.Connected {
					return 0
				}
				return 1
			}),
	} {
		if err := a.Registry.Register(c); err != nil {
			return fmt.Errorf("register journal metrics: %w", err)
		}
	}
	return nil
}

// checkpointJournalEvery bounds how often the ledger's checkpoint
// publications are journaled: each entry covers those since the last
// (a busy ledger publishes about one a second, which would otherwise be
// most of the journal).
const checkpointJournalEvery = time.Minute

// journalCheckpoints journals the ledger's checkpoint publications by
// this instance, at most one entry per checkpointJournalEvery naming the
// latest checkpoint and how many were published since the last entry.
func (a *App) journalCheckpoints(ctx context.Context) error {
	last, _ := a.Ledger.Latest()
	var since int
	var lastEntry time.Time
	flush := func(cp integrity.SignedCheckpoint) {
		if since == 0 {
			return
		}
		a.record(journal.Entry{Action: journal.CheckpointPublish, Result: journal.Success, Subject: "ledger",
			Object: strconv.FormatInt(cp.Size, 10), Detail: map[string]string{"root": cp.Root.String(), "published": strconv.Itoa(since)}})
		since, lastEntry = 0, time.Now()
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, checkpointJournalEvery)
		cp, err := a.Ledger.WaitCheckpoint(wctx, last.Size+1)
		cancel()
		if ctx.Err() != nil {
			flush(last)
			return nil
		}
		if err == nil {
			last = cp
			if a.Ledger.Publishing() {
				since++
			}
		}
		if time.Since(lastEntry) >= checkpointJournalEvery {
			flush(last)
		}
	}
}
