package journal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// StreamName is the JetStream stream of the journal, shared by every
// instance of a deployment.
//
// WARNING: persisted; never rename the stream or its subjects.
const StreamName = "LEDGER_JOURNAL"

// subjectPrefix begins every entry's subject: the prefix, the action's
// tokens and the object's token (see subjectOf).
const subjectPrefix = "ledger-journal."

// Defaults of Config.
const (
	// DefaultRetention is how long entries are kept: 12 months, as the
	// CNIL recommends for access logs of this kind (6 months to 1 year).
	DefaultRetention = 8760 * time.Hour
	// DefaultBuffer is how many entries wait in memory for the journal
	// stream before more are spilled to a file.
	DefaultBuffer = 4096
	// DefaultCheckpointInterval is the least time between two of the
	// journal's signed checkpoints.
	DefaultCheckpointInterval = time.Second
	// OriginSuffix follows the ledger's origin in the journal's.
	OriginSuffix = "/journal"
	// maxDuplicateWindow bounds how long the stream remembers entry ids
	// to drop a republished entry.
	maxDuplicateWindow = 10 * time.Minute
	// closeGrace bounds how long Close waits for the background work once
	// told to stop.
	closeGrace = 3 * time.Second
	// publishBatch is the most entries published before waiting for acks.
	publishBatch = 256
)

// Config configures a Journal.
type Config struct {
	// JetStream is required: the deployment's JetStream (the event
	// store's, jetstream.Store.JetStream).
	JetStream njs.JetStream
	// Replicas is optional: the journal stream's replicas when created
	// (default 1; the deployment's, jetstream.Store.Replicas).
	Replicas int
	// Dir is required: this instance's files (the journal's Merkle tree,
	// its checkpoints when not shared, the spill file).
	Dir string
	// KeyDir is required: the keys dir holding the checkpoint key, which
	// also signs the journal's checkpoints, under the journal's origin.
	KeyDir string
	// Origin is optional: the ledger's checkpoint origin (default
	// integrity.DefaultOrigin); the journal's is Origin + OriginSuffix.
	Origin string
	// Retention is optional: how long entries are kept (the stream's
	// MaxAge; default DefaultRetention). Expired entries leave the
	// stream, their leaf hashes stay in the tree (see the package doc).
	Retention time.Duration
	// Buffer is optional: how many entries wait in memory (default
	// DefaultBuffer).
	Buffer int
	// CheckpointInterval is optional (default DefaultCheckpointInterval).
	CheckpointInterval time.Duration
	// Checkpoints and Lease are optional: a checkpoint list shared by the
	// deployment and the publisher lease, as for the ledger
	// (integrity.Config; jscheckpoints.OpenJournal and JournalLease).
	// Without them each instance publishes the journal's checkpoints in
	// its own file; every instance builds the same tree from the one
	// stream, so their checkpoints never disagree.
	Checkpoints integrity.CheckpointStore
	Lease       integrity.Lease
	// Instance is optional: this instance's name in its entries (default
	// the host name).
	Instance string
	// Syslog is optional: ship every entry to a syslog collector.
	Syslog *SyslogConfig
	// Logger is optional (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Origin == "" {
		c.Origin = integrity.DefaultOrigin
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.Buffer == 0 {
		c.Buffer = DefaultBuffer
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.Instance == "" {
		c.Instance, _ = os.Hostname()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem of the configuration.
func (c Config) Validate() error {
	var es []error
	if c.JetStream == nil {
		es = append(es, errors.New("journal config: JetStream is required"))
	}
	if c.Dir == "" || c.KeyDir == "" {
		es = append(es, errors.New("journal config: Dir and KeyDir are required"))
	}
	if c.Retention < 0 || (c.Retention > 0 && c.Retention < time.Second) {
		es = append(es, fmt.Errorf("journal config: Retention %v: want at least 1s", c.Retention))
	}
	if c.Buffer < 0 || c.CheckpointInterval < 0 {
		es = append(es, errors.New("journal config: Buffer and CheckpointInterval must not be negative"))
	}
	if c.Syslog != nil {
		if err := c.Syslog.validate(); err != nil {
			es = append(es, err)
		}
	}
	if err := errors.Join(es...); err != nil {
		return errs.Wrap(errs.Invalid, err)
	}
	return nil
}

// Journal is the security journal of one instance: it records entries
// into the deployment's journal stream, keeps the journal's Merkle tree
// and signed checkpoints, answers reads and proofs, and ships entries to
// a syslog collector. It is safe for concurrent use.
type Journal struct {
	cfg    Config
	log    *slog.Logger
	js     njs.JetStream
	stream njs.Stream
	tree   *integrity.Log
	hashes *hashArchive
	w      *writer
	ship   *shipper

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards treeErr
	treeErr error

	reportedLoss uint64 // the dropped entries journaled so far; followTree's
}

// Open opens the journal: it creates or updates the journal stream (with
// the retention), opens the journal's tree and checkpoints, and starts
// recording, following the stream into the tree, and shipping.
func Open(ctx context.Context, cfg Config) (*Journal, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := ensureStream(ctx, cfg)
	if err != nil {
		return nil, err
	}
	hashes, err := openHashArchive(ctx, cfg)
	if err != nil {
		return nil, err
	}
	tree, err := integrity.Open(ctx, integrity.Config{
		Dir: cfg.Dir, KeyDir: cfg.KeyDir, Origin: cfg.Origin + OriginSuffix, KeyName: cfg.Origin,
		CheckpointInterval: cfg.CheckpointInterval, Checkpoints: cfg.Checkpoints, Lease: cfg.Lease,
		Logger: cfg.Logger.With("log", "journal"),
	})
	if err != nil {
		return nil, fmt.Errorf("open the journal's tree: %w", err)
	}
	j := &Journal{cfg: cfg, log: cfg.Logger, js: cfg.JetStream, stream: st, tree: tree, hashes: hashes}
	j.w, err = newWriter(cfg, j.publish)
	if err != nil {
		_ = tree.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j.cancel = cancel
	j.wg.Go(func() { j.w.run(runCtx) })
	j.wg.Go(func() { j.followTree(runCtx) })
	if cfg.Syslog != nil {
		j.ship = newShipper(*cfg.Syslog, cfg.Logger)
		j.wg.Go(func() { j.ship.run(runCtx, j) })
	}
	return j, nil
}

// ensureStream creates the journal stream or brings an existing one to
// the configuration: the retention may change, delete and purge stay
// denied.
func ensureStream(ctx context.Context, cfg Config) (njs.Stream, error) {
	dup := min(maxDuplicateWindow, cfg.Retention)
	st, err := cfg.JetStream.CreateOrUpdateStream(ctx, njs.StreamConfig{
		Name:        StreamName,
		Description: "attestation ledger: the security journal (ANSSI-PA-012), one subject per action and object",
		Subjects:    []string{subjectPrefix + ">"},
		Storage:     njs.FileStorage,
		Retention:   njs.LimitsPolicy,
		Discard:     njs.DiscardOld,
		MaxAge:      cfg.Retention,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		MaxMsgSize:  64 << 10,
		Replicas:    cfg.Replicas,
		Duplicates:  dup,
		DenyDelete:  true,
		DenyPurge:   true,
	})
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, fmt.Errorf("open the journal stream %s: %w", StreamName, err))
	}
	return st, nil
}

// Record adds an entry to the journal. It never waits on the network:
// the entry is queued in memory (spilled to a file in Dir when the queue
// is full) and published in the background. It fails only for an entry
// with an unknown action or result. Time and Instance are set when
// empty, ID always.
func (j *Journal) Record(e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Instance == "" {
		e.Instance = j.cfg.Instance
	}
	// Always a fresh id: the journal's own (the stream drops a republished
	// entry by it), never the caller's.
	e.ID = ulid.MustNew(ulid.Timestamp(e.Time), rand.Reader).String()
	e, err := e.normalize()
	if err != nil {
		return err
	}
	data, err := e.encode()
	if err != nil {
		return err
	}
	j.w.add(pending{id: e.ID, subject: subjectOf(e.Action, e.Object), data: data})
	return nil
}

// subjectOf is an entry's subject: the prefix, the action, and a token of
// the object (the first 16 hex digits of its SHA-256, "_" for none), so
// that the reads of one record are found without scanning the journal.
func subjectOf(a Action, object string) string {
	return subjectPrefix + string(a) + "." + objectToken(object)
}

func objectToken(object string) string {
	if object == "" {
		return "_"
	}
	sum := sha256.Sum256([]byte(object))
	return hex.EncodeToString(sum[:8])
}

// publish sends a batch to the journal stream and waits for every ack.
// Each entry carries its id as Nats-Msg-Id, so a batch published again
// after a partial failure records no entry twice within the duplicate
// window.
func (j *Journal) publish(ctx context.Context, batch []pending) error {
	futures := make([]njs.PubAckFuture, 0, len(batch))
	for _, p := range batch {
		msg := nats.NewMsg(p.subject)
		msg.Data = p.data
		msg.Header.Set(nats.MsgIdHdr, p.id)
		f, err := j.js.PublishMsgAsync(msg, njs.WithExpectStream(StreamName))
		if err != nil {
			return fmt.Errorf("publish journal entry: %w", err)
		}
		futures = append(futures, f)
	}
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish journal entry: %w", err)
		case <-timeout.C:
			return errors.New("publish journal entry: no ack within 10s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Tree returns the journal's verifiable log: its size, signed
// checkpoints (origin Origin + OriginSuffix), inclusion and consistency
// proofs, and verifier key.
func (j *Journal) Tree() *integrity.Log { return j.tree }

// Close stops recording and following: the entries still queued are
// published while ctx lasts, and whatever is left is kept in the spill
// file, published at the next start.
func (j *Journal) Close(ctx context.Context) error {
	flushErr := j.w.close(ctx)
	j.cancel()
	stopped := make(chan struct{})
	go func() { j.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(closeGrace):
		// A request to a server that went away can outlast its context:
		// closing must not hang on it.
		j.log.Warn("journal: background work still running at close; closing anyway", "waited", closeGrace)
	}
	return errors.Join(flushErr, j.w.closeSpill(), j.tree.Close())
}
