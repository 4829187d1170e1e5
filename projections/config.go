package projections

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/provenance"
)

// Config configures the read models. Zero values of optional fields take
// the defaults documented on each field.
type Config struct {
	// Dir is required: the directory that holds the read-model database
	// files (readmodels-NNNNNN.db) and the CURRENT file naming the one in
	// use. It is created if missing.
	Dir string
	// Provenance is optional: the keyring that tells the events the
	// command side wrote from the others (a store that need not be
	// trusted); no read model uses an event whose provenance does not
	// verify. Nil trusts every event: tests only.
	Provenance *provenance.Keyring
	// Store is required: the event log the read models are projected from.
	Store eventstore.Store
	// Logger is optional; slog.Default() when nil.
	Logger *slog.Logger
	// Registerer is optional: when set, the projection metrics (lag,
	// events applied, dead letters, checkpoint) are registered on it.
	Registerer prometheus.Registerer
	// MaxBatch is optional: the most events applied in one transaction
	// (default 2048). Batches are as large as what is already waiting in
	// the log, so a caught-up projector applies events one by one with no
	// added latency, and a rebuild uses full batches.
	MaxBatch int
	// BufferSize is optional: how many decoded events the feed reads ahead
	// of the projectors (default 4 × MaxBatch).
	BufferSize int
	// MaxRetries is optional: how many times a failed batch is retried,
	// with exponential backoff, before its failing events are dead-lettered
	// (default 3; -1 for no retry).
	MaxRetries int
	// RetryInitialInterval is optional: the first backoff interval
	// (default 50 ms).
	RetryInitialInterval time.Duration
	// RetryMaxInterval is optional: the longest backoff interval, also the
	// longest wait before a batch that could not be applied even with dead
	// letters (a storage failure) is delivered again (default 5 s).
	RetryMaxInterval time.Duration
	// BusyTimeout is optional: how long SQLite waits for a lock
	// (default 5 s).
	BusyTimeout time.Duration
	// ReadConns is optional: the most open connections answering queries
	// (default 4).
	ReadConns int
	// HeadInterval is optional: how often the running projector reads the
	// store's head to refresh the lag gauges (default 1 s).
	HeadInterval time.Duration
	// LiveBatchDelay is optional: once caught up, how long the projector
	// gathers events after the first of a batch before applying them in
	// one transaction (default 5 ms; negative for none). It bounds the
	// added projection lag of a quiet projector; under load it turns a
	// transaction per event into one per batch.
	LiveBatchDelay time.Duration
	// LiveBatchMaxDelay is optional: how long that gathering may grow
	// while events pour in, doubling while at least 16 events arrive
	// during it and halving back when fewer than 4 do (default 50 ms;
	// fewer, larger transactions let a loaded projector keep up and leave
	// the service more CPU).
	LiveBatchMaxDelay time.Duration
	// CacheRows is optional: how many rows each projector keeps in memory
	// across batches (default 200,000), which spares most reads of a
	// rebuild or a catch-up; the cache is dropped whole when it outgrows
	// this.
	CacheRows int
	// CachedAttestations is optional: how many attestations lookups keep
	// in memory, in front of SQLite (default 50,000; -1 for none).
	CachedAttestations int
	// ReadyMaxLag is optional: Ready fails while a projector is more than
	// this many events behind the store's head (default 10,000).
	ReadyMaxLag uint64
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 2048
	}
	if c.CachedAttestations == 0 {
		c.CachedAttestations = 50_000
	}
	if c.BufferSize == 0 {
		c.BufferSize = 4 * c.MaxBatch
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.RetryInitialInterval == 0 {
		c.RetryInitialInterval = 50 * time.Millisecond
	}
	if c.RetryMaxInterval == 0 {
		c.RetryMaxInterval = 5 * time.Second
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.ReadConns == 0 {
		c.ReadConns = 4
	}
	if c.HeadInterval == 0 {
		c.HeadInterval = time.Second
	}
	switch {
	case c.LiveBatchDelay == 0:
		c.LiveBatchDelay = 5 * time.Millisecond
	case c.LiveBatchDelay < 0:
		c.LiveBatchDelay = 0
	}
	switch {
	case c.LiveBatchMaxDelay == 0:
		c.LiveBatchMaxDelay = 50 * time.Millisecond
	case c.LiveBatchMaxDelay < 0:
		c.LiveBatchMaxDelay = 0
	}
	if c.CacheRows == 0 {
		c.CacheRows = 200_000
	}
	if c.ReadyMaxLag == 0 {
		c.ReadyMaxLag = 10_000
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("field Dir is required"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("field Store is required"))
	}
	if c.MaxBatch < 0 {
		errs = append(errs, fmt.Errorf("MaxBatch %d must not be negative", c.MaxBatch))
	}
	if c.BufferSize < 0 {
		errs = append(errs, fmt.Errorf("BufferSize %d must not be negative", c.BufferSize))
	}
	if c.MaxRetries < -1 {
		errs = append(errs, fmt.Errorf("MaxRetries %d must be -1 or more", c.MaxRetries))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"RetryInitialInterval", c.RetryInitialInterval}, {"RetryMaxInterval", c.RetryMaxInterval},
		{"BusyTimeout", c.BusyTimeout}, {"HeadInterval", c.HeadInterval},
	} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("%s %s must not be negative", d.name, d.d))
		}
	}
	if c.CacheRows < 0 {
		errs = append(errs, fmt.Errorf("CacheRows %d must not be negative", c.CacheRows))
	}
	if c.ReadConns < 0 {
		errs = append(errs, fmt.Errorf("ReadConns %d must not be negative", c.ReadConns))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("projections config: %w", err)
	}
	return nil
}

// trust is the feed's check of provenance, nil without a keyring.
func (c Config) trust() func(eventstore.Envelope) error {
	if c.Provenance == nil {
		return nil
	}
	return c.Provenance.Verify
}
