package jetstream

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// KeysBucket is the JetStream key-value bucket of the idempotency keys.
//
// WARNING: persisted; never rename it.
const KeysBucket = "LEDGER_IDEMPOTENCY"

// maxClaimBatch bounds the claims written in one atomic batch.
const maxClaimBatch = 256

// Register is a durable register of create-only claims: for each key,
// the value it was first claimed with. The ledger keeps two: the
// idempotency keys (IdempotencyKeys: key → fingerprint of the request it
// was first used with, so that a key reused for another request is
// recognised whatever company that request concerns, which the events'
// ids recognise only within one company's stream) and the attestation
// numbers (AttestationIndex: number → company stream). Each is a JetStream
// key-value bucket on the ledger's server, with the ledger stream's
// storage, replicas and durability.
//
// Claims are group-committed like appends: the claims waiting while a
// batch is being made durable go to the server together, as one atomic
// batch of create-only writes (expected last subject sequence 0), one
// fsync for all. A batch the server refuses (one of its keys exists) is
// retried claim by claim. It is safe for concurrent use.
type Register struct {
	kv     njs.KeyValue
	js     njs.JetStream
	what   string // what a key is, for errors
	prefix string // subject of a key, without the key

	mu      sync.Mutex
	queue   []*claim
	running bool // a goroutine is writing batches

	batches, batched, singles atomic.Int64
}

// RegisterStats counts how claims were written.
type RegisterStats struct {
	// Batches is how many atomic batches of claims were stored, holding
	// Batched claims.
	Batches, Batched int64
	// Singles is how many claims were written one by one (alone in their
	// round, or retried after a refused batch).
	Singles int64
}

// Stats returns the counts of claims written so far.
func (k *Register) Stats() RegisterStats {
	return RegisterStats{Batches: k.batches.Load(), Batched: k.batched.Load(), Singles: k.singles.Load()}
}

type claim struct {
	ctx              context.Context
	key, fingerprint string
	done             chan claimResult
}

type claimResult struct {
	first string
	err   error
}

// keyPattern is what a key-value key may be.
var keyPattern = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

// IdempotencyKeys returns the register of idempotency keys, creating its
// bucket if needed.
func (s *Store) IdempotencyKeys(ctx context.Context) (*Register, error) {
	return s.openRegister(ctx, KeysBucket, "idempotency key", "attestation ledger: the request each idempotency key was first used with")
}

// openRegister opens a register in its bucket, creating the bucket if
// needed; what names a key in errors.
func (s *Store) openRegister(ctx context.Context, bucket, what, description string) (*Register, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	replicas := 1
	if s.stream != nil {
		replicas = max(1, s.stream.CachedInfo().Config.Replicas)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, njs.KeyValueConfig{
		Bucket:      bucket,
		Description: description,
		History:     1,
		Storage:     njs.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s register: %w", what, translate(err))
	}
	// Atomic batches are a setting of the bucket's stream.
	stream, err := s.js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return nil, fmt.Errorf("open %s register: %w", what, translate(err))
	}
	if cfg := stream.CachedInfo().Config; !cfg.AllowAtomicPublish {
		cfg.AllowAtomicPublish = true
		if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("open %s register: allow atomic batches: %w", what, translate(err))
		}
	}
	return &Register{kv: kv, js: s.js, what: what, prefix: "$KV." + bucket + "."}, nil
}

// Claim records fingerprint for key unless the key is already known, and
// returns the fingerprint the key was first claimed with (fingerprint
// itself the first time). Two concurrent claims of one key with different
// fingerprints: exactly one wins, the other gets the winner's. The record
// is durable when Claim returns. key must be a valid key-value key
// (letters, digits, "-/_=.").
func (k *Register) Claim(ctx context.Context, key, fingerprint string) (string, error) {
	if !keyPattern.MatchString(key) {
		return "", fmt.Errorf("claim %s: invalid key %q", k.what, key)
	}
	c := &claim{ctx: ctx, key: key, fingerprint: fingerprint, done: make(chan claimResult, 1)}
	k.mu.Lock()
	k.queue = append(k.queue, c)
	if !k.running {
		k.running = true
		go k.run()
	}
	k.mu.Unlock()
	select {
	case r := <-c.done:
		return r.first, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// run writes the waiting claims, batch after batch, until none waits.
func (k *Register) run() {
	for {
		k.mu.Lock()
		batch := k.queue
		if len(batch) > maxClaimBatch {
			batch = batch[:maxClaimBatch]
		}
		k.queue = k.queue[len(batch):]
		if len(batch) == 0 {
			k.queue, k.running = nil, false
			k.mu.Unlock()
			return
		}
		k.mu.Unlock()
		k.write(batch)
	}
}

// write makes one batch of claims durable and answers them.
func (k *Register) write(batch []*claim) {
	// A key claimed twice in the batch: the later claims wait for the
	// first's answer rather than failing the batch.
	var first []*claim
	later := map[string][]*claim{}
	seen := map[string]bool{}
	for _, c := range batch {
		if c.ctx.Err() != nil {
			c.done <- claimResult{err: c.ctx.Err()}
			continue
		}
		if seen[c.key] {
			later[c.key] = append(later[c.key], c)
			continue
		}
		seen[c.key] = true
		first = append(first, c)
	}
	k.writeDistinct(first, later)
}

// writeDistinct writes claims of distinct keys: as one atomic batch, and
// when the server refuses it because a key is already claimed, as two
// halves, down to the refused claim alone.
func (k *Register) writeDistinct(claims []*claim, later map[string][]*claim) {
	if len(claims) == 0 {
		return
	}
	if len(claims) == 1 {
		c := claims[0]
		f, err := k.claimOne(c)
		k.answer(c, later[c.key], claimResult{first: f, err: err})
		return
	}
	msgs := make([]*nats.Msg, len(claims))
	for i, c := range claims {
		m := nats.NewMsg(k.prefix + c.key)
		m.Data = []byte(c.fingerprint)
		m.Header.Set(njs.ExpectedLastSubjSeqHeader, "0")
		msgs[i] = m
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.js.Options().DefaultTimeout)
	_, err := jetstreamext.PublishMsgBatch(ctx, k.js, msgs, jetstreamext.BatchFlowControl{AckFirst: false})
	cancel()
	if err == nil {
		k.batches.Add(1)
		k.batched.Add(int64(len(claims)))
		for _, c := range claims {
			k.answer(c, later[c.key], claimResult{first: c.fingerprint})
		}
		return
	}
	if code, ok := apiCode(err); ok && (code == codeWrongLastSequence || code == codeWrongLastSequenceConstant) {
		k.writeDistinct(claims[:len(claims)/2], later)
		k.writeDistinct(claims[len(claims)/2:], later)
		return
	}
	// The server pushed back, or the answer was lost (the batch may be
	// stored): each claim on its own tells.
	for _, c := range claims {
		f, err := k.claimOne(c)
		k.answer(c, later[c.key], claimResult{first: f, err: err})
	}
}

// answer answers c, and the later claims of its key with what the key
// holds now.
func (k *Register) answer(c *claim, later []*claim, r claimResult) {
	c.done <- r
	for _, l := range later {
		l.done <- r
	}
}

// claimOne claims one key with a create-only write.
func (k *Register) claimOne(c *claim) (string, error) {
	k.singles.Add(1)
	if _, err := k.kv.Create(c.ctx, c.key, []byte(c.fingerprint)); err == nil {
		return c.fingerprint, nil
	} else if !errors.Is(err, njs.ErrKeyExists) {
		return "", fmt.Errorf("claim %s %s: %w", k.what, c.key, translate(err))
	}
	e, err := k.kv.Get(c.ctx, c.key)
	if err != nil {
		return "", fmt.Errorf("claim %s %s: %w", k.what, c.key, translate(err))
	}
	return string(e.Value()), nil
}

// Lookup returns the value key was first claimed with, and false when the
// key was never claimed.
func (k *Register) Lookup(ctx context.Context, key string) (string, bool, error) {
	if !keyPattern.MatchString(key) {
		return "", false, fmt.Errorf("look up %s: invalid key %q", k.what, key)
	}
	e, err := k.kv.Get(ctx, key)
	if errors.Is(err, njs.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up %s %s: %w", k.what, key, translate(err))
	}
	return string(e.Value()), true, nil
}
