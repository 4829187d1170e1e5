package integrity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// runLog runs l.Run in the background; the returned function stops it and
// returns Run's error.
func runLog(t *testing.T, l *Log, store eventstore.Store) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, store) }()
	return func() error {
		cancel()
		return <-done
	}
}

// waitCtx bounds a wait for something that must happen; it is a safety
// net against hanging, not a timed assertion.
func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestRunFollowsTheStore(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 700)
	cfg := testConfig(t)
	cfg.CheckpointInterval = time.Millisecond
	cfg.BatchSize = 64
	l := openLog(t, cfg)
	stop := runLog(t, l, store)
	for range 5 { // while Run follows
		fill(t, store, rng, 1+rng.IntN(300))
	}
	head, _ := store.Head(context.Background())
	total := int(head)
	c, err := l.WaitCheckpoint(waitCtx(t), int64(total))
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	envs := readAll(t, store)
	roots := refRoots(t, envs)
	if c.Size != int64(total) || !bytes.Equal(c.Root[:], roots[total]) {
		t.Fatalf("latest checkpoint %d %s, want %d %x", c.Size, c.Root, total, roots[total])
	}
	checkAllCheckpoints(t, l, roots)
}

// checkAllCheckpoints checks that every published checkpoint is signed,
// has transparency-dev's root, and is consistent with every later one.
func checkAllCheckpoints(t *testing.T, l *Log, roots [][]byte) {
	t.Helper()
	ctx := context.Background()
	sizes := l.CheckpointSizes()
	if len(sizes) < 2 {
		t.Fatalf("only %d checkpoints", len(sizes))
	}
	cps := make([]SignedCheckpoint, len(sizes))
	for i, s := range sizes {
		c, err := l.CheckpointAt(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenCheckpoint(c.Note, l.VerifierKey()); err != nil {
			t.Fatal(err)
		}
		if i > 0 && s <= sizes[i-1] {
			t.Fatalf("checkpoint sizes not increasing: %v", sizes)
		}
		if !bytes.Equal(c.Root[:], roots[s]) {
			t.Fatalf("checkpoint %d has root %s, want %x", s, c.Root, roots[s])
		}
		cps[i] = c
	}
	for i := range cps {
		for j := i + 1; j < len(cps); j++ {
			p, err := l.ConsistencyProof(ctx, cps[i].Size, cps[j].Size)
			if err != nil {
				t.Fatal(err)
			}
			hs := make([][]byte, len(p.Hashes))
			for k := range p.Hashes {
				hs[k] = p.Hashes[k][:]
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(cps[i].Size), uint64(cps[j].Size), hs, cps[i].Root[:], cps[j].Root[:]); err != nil {
				t.Fatalf("checkpoints %d and %d: %v", cps[i].Size, cps[j].Size, err)
			}
		}
	}
}

func TestRunResumesAfterRestart(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 200)
	cfg := testConfig(t)
	cfg.CheckpointInterval = time.Millisecond
	l := openLog(t, cfg)
	stop := runLog(t, l, store)
	if _, err := l.WaitCheckpoint(waitCtx(t), 200); err != nil {
		t.Fatal(err)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	_ = l.Close()

	fill(t, store, rng, 150)
	l = openLog(t, cfg)
	stop = runLog(t, l, store)
	c, err := l.WaitCheckpoint(waitCtx(t), 350)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	roots := refRoots(t, readAll(t, store))
	if !bytes.Equal(c.Root[:], roots[350]) {
		t.Fatal("root after restart differs from transparency-dev's")
	}
	if sizes := l.CheckpointSizes(); sizes[0] != 0 || sizes[len(sizes)-1] != 350 {
		t.Fatalf("checkpoint sizes %v", sizes)
	}
	checkAllCheckpoints(t, l, roots)
}

// gappyStore is a real store whose subscription skips one position, as a
// broken backend would.
type gappyStore struct {
	eventstore.Store
	skip uint64
}

func (s gappyStore) Subscribe(ctx context.Context, from uint64) (eventstore.Subscription, error) {
	sub, err := s.Store.Subscribe(ctx, from)
	return gappySub{sub, s.skip}, err
}

type gappySub struct {
	eventstore.Subscription
	skip uint64
}

func (s gappySub) Next(ctx context.Context) (eventstore.Envelope, error) {
	e, err := s.Subscription.Next(ctx)
	if err == nil && e.Position == s.skip {
		return s.Subscription.Next(ctx)
	}
	return e, err
}

func TestRunRefusesAGap(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 100)
	l := openLog(t, testConfig(t))
	err := l.Run(waitCtx(t), gappyStore{store, 57})
	if !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("Run = %v, want ErrOutOfOrder", err)
	}
	if size, _ := l.Size(); size > 56 {
		t.Fatalf("tree grew to %d past the gap", size)
	}
}

// rewrittenStore is a real store whose history was rewritten at one
// position, as seen by anyone reading it.
type rewrittenStore struct {
	eventstore.Store
	at uint64
}

func (s rewrittenStore) fix(evs []eventstore.Envelope) []eventstore.Envelope {
	for i := range evs {
		if evs[i].Position == s.at {
			evs[i].Data = []byte(fmt.Sprintf(`{"rewritten":%d}`, s.at))
		}
	}
	return evs
}

func (s rewrittenStore) ReadAll(ctx context.Context, from uint64, limit int) ([]eventstore.Envelope, error) {
	evs, err := s.Store.ReadAll(ctx, from, limit)
	return s.fix(evs), err
}

func (s rewrittenStore) Subscribe(ctx context.Context, from uint64) (eventstore.Subscription, error) {
	sub, err := s.Store.Subscribe(ctx, from)
	return rewrittenSub{sub, s}, err
}

type rewrittenSub struct {
	eventstore.Subscription
	s rewrittenStore
}

func (r rewrittenSub) Next(ctx context.Context) (eventstore.Envelope, error) {
	e, err := r.Subscription.Next(ctx)
	return r.s.fix([]eventstore.Envelope{e})[0], err
}

func TestNoInconsistentCheckpointAfterRewrite(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 300)
	ctx := context.Background()
	l := openLog(t, testConfig(t))
	if err := l.CatchUp(ctx, store); err != nil {
		t.Fatal(err)
	}
	before, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Someone rewrites event 123 and has the tree rebuilt from the log.
	bad := rewrittenStore{store, 123}
	if err := l.Rebuild(ctx, bad); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("Rebuild from a rewritten log = %v, want ErrInconsistent", err)
	}
	if _, err := l.Checkpoint(ctx); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("Checkpoint = %v, want ErrInconsistent", err)
	}
	fill(t, store, rng, 20)
	if err := l.Run(waitCtx(t), bad); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("Run = %v, want ErrInconsistent", err)
	}
	if c, _ := l.Latest(); c.Size != before.Size || c.Root != before.Root {
		t.Fatalf("a checkpoint was published over the rewritten log: %d", c.Size)
	}
	res := l.SelfAudit(ctx, bad)
	if res.OK() {
		t.Fatal("self-audit passed on a rewritten log")
	}
	// The honest log still reproduces the checkpoint: rebuilding from it heals.
	if err := l.Rebuild(ctx, store); err != nil {
		t.Fatal(err)
	}
	if c, err := l.Checkpoint(ctx); err != nil || c.Size != 320 {
		t.Fatalf("Checkpoint after honest rebuild = %d, %v", c.Size, err)
	}
}

func TestSelfAuditFindsRewrittenEvent(t *testing.T) {
	rng := newRand(t)
	store := newStore(t, rng, 250)
	ctx := context.Background()
	l := openLog(t, testConfig(t))
	cps := 0
	for _, n := range []int{50, 100, 250} {
		evs := readAll(t, store)
		size, _ := l.Size()
		if _, err := l.Append(ctx, evs[size:n]...); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		cps++
	}
	if res := l.SelfAudit(ctx, store); !res.OK() || res.CheckpointsChecked != cps || res.Leaves != 250 || res.LogHead != 250 {
		t.Fatalf("self-audit of an intact log = %+v", res)
	}
	res := l.SelfAudit(ctx, rewrittenStore{store, 77})
	if res.OK() || res.FirstBadLeaf != 76 || !errors.Is(res.Err(), ErrAudit) {
		t.Fatalf("self-audit of a rewritten log = %+v", res)
	}
	res = l.SelfAudit(ctx, truncatedStore{store, 200})
	if res.OK() {
		t.Fatalf("self-audit of a truncated log passed: %+v", res)
	}
}

// truncatedStore is a real store that lost its events past head.
type truncatedStore struct {
	eventstore.Store
	head uint64
}

func (s truncatedStore) Head(context.Context) (uint64, error) { return s.head, nil }
