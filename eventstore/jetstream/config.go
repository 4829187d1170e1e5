package jetstream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/nats-io/nkeys"
)

// Defaults of Config.
const (
	DefaultDuplicateWindow    = 2 * time.Minute
	DefaultMaxBatchMessages   = 256
	DefaultMaxBatchBytes      = 4 << 20
	DefaultMaxInflightBatches = 1
	DefaultMaxBatchDelay      = 2 * time.Millisecond
	DefaultRequestTimeout     = 10 * time.Second
	DefaultPublishTimeout     = 4 * time.Second
	DefaultConnectTimeout     = 10 * time.Second
	DefaultCachedStreams      = 1 << 20

	// maxServerBatchMessages is nats-server's limit on the messages of one
	// atomic batch (ADR-50).
	maxServerBatchMessages = 1000
	// maxServerInflightBatches is nats-server's limit on the atomic
	// batches in flight on one stream (ADR-50).
	maxServerInflightBatches = 50
)

// Config configures a Store. The zero value is not valid: set DataDir (for
// the embedded server) or URL (for an external one).
type Config struct {
	// DataDir is the directory where the embedded NATS server keeps its
	// JetStream store. Required unless URL is set; ignored when it is.
	DataDir string
	// Listen is an optional "host:port" on which the embedded server
	// accepts NATS clients (port 0 picks a free one). Empty, the default,
	// means the server listens on no port and the store reaches it
	// in-process only.
	Listen string

	// NKeySeed is the nkey seed of the ledger's own NATS user ("SU…"). With
	// the embedded server it is required with Listen: the server then
	// admits no anonymous client, only this user (with every right but
	// deleting or purging a stream) and the AuditorNKeys, and the store
	// connects in-process with it. With URL it is optional: the store
	// authenticates to the external server as this nkey user.
	NKeySeed []byte
	// AuditorNKeys are optional public nkeys ("U…") of read-only users of
	// the embedded server: they may read the ledger stream (stream info,
	// direct and message gets, consumers) and publish nothing else. They
	// need NKeySeed.
	AuditorNKeys []string

	// URL is an optional external NATS server or cluster (several URLs
	// separated by commas). When set, no embedded server is started.
	URL string
	// CredentialsFile is an optional NATS credentials file (user JWT and
	// nkey seed) for URL.
	CredentialsFile string
	// Username and Password are optional basic credentials for URL.
	Username, Password string
	// Token is an optional authentication token for URL.
	Token string
	// TLS is an optional client TLS configuration for URL (root CAs,
	// client certificate). A URL with the tls:// scheme uses TLS with the
	// system roots when TLS is nil.
	TLS *tls.Config
	// MonitorURL is the optional HTTP monitoring endpoint of the external
	// servers (e.g. "http://nats-1:8222", several separated by commas).
	// Open reads each one's /varz to check that it syncs every write to
	// disk (sync_interval: always) when the server does not answer a
	// system-account request, and fails when one does not; without either
	// it logs a warning that durability could not be verified.
	MonitorURL string

	// Replicas is the optional number of replicas of the ledger stream
	// when Open creates it: 1 (the default) for the embedded server, 3
	// for a production cluster.
	Replicas int
	// DuplicateWindow is how long the server remembers event IDs to
	// recognise a retried append (optional, default 2 minutes). Retries of
	// appends with an exact expected version are recognised at any time;
	// retries of Any appends only within this window.
	DuplicateWindow time.Duration

	// MaxBatchMessages is the optional maximum number of events the group
	// commit puts in one atomic batch (default 256, at most 1000).
	MaxBatchMessages int
	// MaxBatchBytes is the optional maximum encoded size of one atomic
	// batch (default 4 MiB).
	MaxBatchBytes int
	// MaxInflightBatches is the optional number of batches the group
	// commit keeps in flight at once (default 1, at most 50). The server
	// commits a stream's batches one after the other, so more rarely helps.
	MaxInflightBatches int
	// MaxBatchDelay is the optional longest time the group commit waits
	// for the writers of the previous batch to come back before sending a
	// smaller batch (default 2 ms; negative: never wait). Each atomic
	// batch costs the server several fsyncs whatever its size, so fuller
	// batches make more appends durable per second.
	MaxBatchDelay time.Duration
	// CachedStreams is the optional number of streams whose version the
	// store remembers to check expected versions before publishing
	// (default 1,048,576).
	CachedStreams int

	// PublishTimeout bounds the wait for the acknowledgement of one batch
	// (optional, default 4 s, at most RequestTimeout). The group commit
	// waits for it before the next batch: on a cluster whose stream leader
	// died with the batch in flight, the acknowledgement never comes, and
	// every append of the instance waits that long. A batch that times out
	// is "outcome unknown": retried with the same event ids, it is
	// recognised.
	PublishTimeout time.Duration
	// RequestTimeout bounds each request to the server that the caller's
	// context does not bound (optional, default 10 s).
	RequestTimeout time.Duration
	// ConnectTimeout bounds starting the embedded server and connecting
	// (optional, default 10 s).
	ConnectTimeout time.Duration

	// GuardInterval is how often the store checks that the ledger stream
	// is still the one it opened (optional, default 2 s; see Replaced).
	GuardInterval time.Duration

	// Logger receives the store's and the embedded server's logs
	// (optional, default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.MaxBatchMessages == 0 {
		c.MaxBatchMessages = DefaultMaxBatchMessages
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.MaxInflightBatches == 0 {
		c.MaxInflightBatches = DefaultMaxInflightBatches
	}
	if c.MaxBatchDelay == 0 {
		c.MaxBatchDelay = DefaultMaxBatchDelay
	}
	if c.CachedStreams == 0 {
		c.CachedStreams = DefaultCachedStreams
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = min(DefaultPublishTimeout, c.RequestTimeout)
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.GuardInterval == 0 {
		c.GuardInterval = DefaultGuardInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if c.URL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("the embedded server needs DataDir (or set URL)"))
	}
	if c.URL != "" {
		if c.Listen != "" {
			errs = append(errs, errors.New("a Listen address applies to the embedded server only, not with URL"))
		}
		for _, u := range strings.Split(c.URL, ",") {
			if strings.TrimSpace(u) == "" {
				errs = append(errs, fmt.Errorf("URL %q has an empty entry", c.URL))
			}
		}
	} else if c.CredentialsFile != "" || c.Username != "" || c.Token != "" || c.TLS != nil || c.MonitorURL != "" {
		errs = append(errs, errors.New("the options CredentialsFile, Username, Token, TLS and MonitorURL apply to URL only"))
	}
	errs = append(errs, c.validateAuth()...)
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen address %q: %w", c.Listen, err))
		}
	}
	if c.Token != "" && c.Username != "" {
		errs = append(errs, errors.New("set either Token or Username, not both"))
	}
	if c.URL == "" && c.Replicas > 1 {
		errs = append(errs, fmt.Errorf("invalid Replicas %d: the embedded server is a single server, want 1", c.Replicas))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("invalid Replicas %d: want 1 to 5", c.Replicas))
	}
	if c.DuplicateWindow < time.Second {
		errs = append(errs, fmt.Errorf("DuplicateWindow %v: want at least 1s", c.DuplicateWindow))
	}
	if c.MaxBatchMessages < 1 || c.MaxBatchMessages > maxServerBatchMessages {
		errs = append(errs, fmt.Errorf("MaxBatchMessages %d: want 1 to %d", c.MaxBatchMessages, maxServerBatchMessages))
	}
	if c.MaxBatchBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("MaxBatchBytes %d: want at least 64 KiB", c.MaxBatchBytes))
	}
	if c.MaxInflightBatches < 1 || c.MaxInflightBatches > maxServerInflightBatches {
		errs = append(errs, fmt.Errorf("MaxInflightBatches %d: want 1 to %d", c.MaxInflightBatches, maxServerInflightBatches))
	}
	if c.MaxBatchDelay > time.Second {
		errs = append(errs, fmt.Errorf("MaxBatchDelay %v: want at most 1s", c.MaxBatchDelay))
	}
	if c.CachedStreams < 1 {
		errs = append(errs, fmt.Errorf("CachedStreams %d: want 1 or more", c.CachedStreams))
	}
	if c.PublishTimeout <= 0 || c.PublishTimeout > c.RequestTimeout {
		errs = append(errs, fmt.Errorf("PublishTimeout %v: want a positive duration, at most RequestTimeout", c.PublishTimeout))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("RequestTimeout %v: want a positive duration", c.RequestTimeout))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("ConnectTimeout %v: want a positive duration", c.ConnectTimeout))
	}
	return errors.Join(errs...)
}

// validateAuth reports the problems of NKeySeed and AuditorNKeys.
func (c *Config) validateAuth() []error {
	var errs []error
	if c.URL == "" && c.Listen != "" && len(c.NKeySeed) == 0 {
		errs = append(errs, errors.New("a listening embedded server needs NKeySeed: it admits no anonymous client"))
	}
	if len(c.NKeySeed) > 0 {
		if _, err := nkeyUser(c.NKeySeed); err != nil {
			errs = append(errs, err)
		}
		if c.URL != "" && (c.CredentialsFile != "" || c.Username != "" || c.Token != "") {
			errs = append(errs, errors.New("set one of NKeySeed, CredentialsFile, Username or Token"))
		}
	}
	if len(c.AuditorNKeys) > 0 {
		if c.URL != "" {
			errs = append(errs, errors.New("AuditorNKeys apply to the embedded server only, not with URL"))
		}
		if len(c.NKeySeed) == 0 {
			errs = append(errs, errors.New("AuditorNKeys need NKeySeed"))
		}
		for _, k := range c.AuditorNKeys {
			if !nkeys.IsValidPublicUserKey(k) {
				errs = append(errs, fmt.Errorf("auditor nkey %q is not a public user nkey", k))
			}
		}
	}
	return errs
}
