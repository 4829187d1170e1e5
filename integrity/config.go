package integrity

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Defaults of Config.
const (
	// DefaultOrigin is the checkpoint origin used when Config.Origin is empty.
	DefaultOrigin = "attestation-ledger"
	// DefaultCheckpointInterval is the least time between two checkpoints:
	// while the log grows, checkpoints come less than a second apart, with
	// the last 100 ms left for committing and signing, so an event waits at
	// most about a second for a checkpoint that covers it.
	DefaultCheckpointInterval = 900 * time.Millisecond
	// DefaultBatchSize is the most leaves Run commits at once.
	DefaultBatchSize = 4096
	// DefaultCommitDelay is how long Run gathers events before a commit.
	DefaultCommitDelay = 100 * time.Millisecond
	// DefaultLeaseTTL is how long the publisher lease outlives its
	// holder's last renewal; the holder renews it every third of it.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultTreeWait bounds how long a proof against a published
	// checkpoint waits for a lagging tree to reach it.
	DefaultTreeWait = 5 * time.Second
)

// Config configures a Log.
type Config struct {
	// Dir is required: the directory holding the tree's stored hashes, its
	// size record and the file of signed checkpoints. It is created if
	// missing.
	Dir string
	// KeyDir is optional: the directory holding the checkpoint signing key,
	// created at first start (mode 0600), and its verifier key. Default:
	// Dir.
	KeyDir string
	// Origin is optional: the first line of every checkpoint, which is also
	// the name of the signing key (no spaces, no '+'). Default:
	// DefaultOrigin.
	//
	// WARNING: the origin is part of every published checkpoint and of the
	// verifier key; never change it once checkpoints are published.
	Origin string
	// KeyName is optional: the name of the signing key kept in KeyDir, when
	// it is not Origin. The log then signs with that key's Ed25519 seed
	// under a key named Origin (the note key name must be the origin), so
	// that a second log of the deployment (the security journal,
	// "<origin>/journal") has its own origin and verifier key without a
	// second secret to keep. Default: Origin.
	KeyName string
	// CheckpointInterval is optional: while the log grows, Run publishes a
	// checkpoint at most this often. Default: DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// BatchSize is optional: the most leaves Run appends to the tree in one
	// durable commit. Default: DefaultBatchSize.
	BatchSize int
	// CommitDelay is optional: how long Run gathers arriving events (unless
	// a batch fills) before committing them, so that a steady stream of
	// events costs a few commits a second, not one per event. It adds to
	// the checkpoint lag; keep it well under CheckpointInterval. Default:
	// DefaultCommitDelay; negative for none.
	CommitDelay time.Duration
	// Checkpoints is optional: where the signed checkpoints are published
	// and read. Default: an append-only file in Dir, for a single instance.
	// A deployment of several instances gives them all one shared store:
	// the Log then follows it, verifies what the others publish (the
	// signature, and the root once its own tree reaches the size) and
	// serves it.
	Checkpoints CheckpointStore
	// Lease is optional: the right to publish, held by one instance at a
	// time; an instance without it publishes nothing and serves the
	// holder's checkpoints. Give one with a shared Checkpoints (a single
	// instance needs none).
	Lease Lease
	// LeaseTTL is optional: the ttl the Lease was made with; the holder
	// renews it every third of it. Default: DefaultLeaseTTL.
	LeaseTTL time.Duration
	// TreeWait is optional: how long a proof against a published
	// checkpoint the tree has not reached yet waits for it, before
	// failing with ErrTreeBehind. Default: DefaultTreeWait.
	TreeWait time.Duration
	// Logger is optional. Default: slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.KeyDir == "" {
		c.KeyDir = c.Dir
	}
	if c.Origin == "" {
		c.Origin = DefaultOrigin
	}
	if c.KeyName == "" {
		c.KeyName = c.Origin
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	switch {
	case c.CommitDelay == 0:
		c.CommitDelay = DefaultCommitDelay
	case c.CommitDelay < 0:
		c.CommitDelay = 0
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.TreeWait == 0 {
		c.TreeWait = DefaultTreeWait
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("integrity config: Dir is required"))
	}
	if c.Origin != "" && !validKeyName(c.Origin) {
		errs = append(errs, fmt.Errorf("integrity config: Origin %q must be non-empty UTF-8 without spaces, control characters or '+'", c.Origin))
	}
	if c.KeyName != "" && !validKeyName(c.KeyName) {
		errs = append(errs, fmt.Errorf("integrity config: KeyName %q must be non-empty UTF-8 without spaces, control characters or '+'", c.KeyName))
	}
	if c.CheckpointInterval < 0 {
		errs = append(errs, fmt.Errorf("integrity config: CheckpointInterval %v is negative", c.CheckpointInterval))
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("integrity config: BatchSize %d is negative", c.BatchSize))
	}
	if c.LeaseTTL < 0 || c.TreeWait < 0 {
		errs = append(errs, fmt.Errorf("integrity config: LeaseTTL %v and TreeWait %v must not be negative", c.LeaseTTL, c.TreeWait))
	}
	return errors.Join(errs...)
}

// validKeyName follows the rules of golang.org/x/mod/sumdb/note for key
// names, which the origin doubles as.
func validKeyName(name string) bool {
	if name == "" || !utf8.ValidString(name) || strings.Contains(name, "+") {
		return false
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}
