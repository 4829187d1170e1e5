package handlers

import (
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/provenance"
)

// Config configures the command handlers.
type Config struct {
	// Store is required: the event store.
	Store eventstore.Store
	// Index is required: the store's index of attestation numbers, which
	// tells the company of an attestation.
	Index Index
	// Lookup is required: the read side's answer for what the index does
	// not tell (the company of a request, or of an attestation issued
	// before the index existed).
	Lookup Lookup
	// Provenance is optional: the keyring that proves each appended event
	// was written here and tells the events of a company's stream that
	// were not (they are left out of its decisions). Without it events
	// carry no provenance and every stored event is trusted: tests only.
	Provenance *provenance.Keyring
	// Keys is required: the durable register of idempotency keys, so that
	// a key reused for another company's command is refused too.
	Keys Keys
	// Now is optional: the clock (time.Now by default).
	Now func() time.Time
	// Entropy is optional: the source of attestation numbers
	// (crypto/rand by default).
	Entropy io.Reader
	// MaxConflictRetries is optional: how many times a command is decided
	// again after a concurrency conflict (default 16).
	MaxConflictRetries int
	// Logger is optional: where failures of background work go
	// (slog.Default by default).
	Logger *slog.Logger
	// Registerer is optional: where the handlers' metrics are registered
	// (none by default).
	Registerer prometheus.Registerer
	// CachedCompanies is optional: how many companies' streams are kept in
	// memory so that a command needs no read of the stream (default
	// 20,000; -1 for none).
	CachedCompanies int
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Entropy == nil {
		c.Entropy = rand.Reader
	}
	if c.MaxConflictRetries == 0 {
		c.MaxConflictRetries = 16
	}
	if c.CachedCompanies == 0 {
		c.CachedCompanies = 20_000
	}
}

// Validate reports every missing or invalid setting.
func (c Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("handlers: Store is required"))
	}
	if c.Index == nil {
		errs = append(errs, errors.New("handlers: Index is required"))
	}
	if c.Lookup == nil {
		errs = append(errs, errors.New("handlers: Lookup is required"))
	}
	if c.Keys == nil {
		errs = append(errs, errors.New("handlers: Keys is required"))
	}
	if c.MaxConflictRetries < 0 {
		errs = append(errs, errors.New("handlers: MaxConflictRetries must not be negative"))
	}
	return errors.Join(errs...)
}

// Commands handles the ledger's commands: each handler finds the company,
// lets the domain decide through the company repository, and answers with
// the view of what it changed.
type Commands struct {
	cfg      Config
	log      *slog.Logger
	repo     *Repository
	index    Index
	lookup   Lookup
	metrics  *metrics
	indexing sync.WaitGroup // index writes not done yet
}

// NewCommands returns the command handlers.
func NewCommands(cfg Config) (*Commands, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	repo := newRepository(cfg.Store, cfg.Keys, cfg.Provenance, cfg.Now, cfg.MaxConflictRetries, cfg.CachedCompanies, m)
	return &Commands{cfg: cfg, log: cfg.Logger, repo: repo, index: cfg.Index, lookup: cfg.Lookup, metrics: m}, nil
}
