package jscheckpoints_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/integrity/jscheckpoints"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

const origin = "test.example/ledger"

// leaseTTL is short so that a handover fits in a test.
const leaseTTL = 1500 * time.Millisecond

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logBuffer collects one instance's logs.
type logBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.Write(p)
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.sb.String(), s)
}

// cluster is one embedded JetStream server listening on a port, and a
// second store connected to it, as two instances of a deployment.
type cluster struct {
	stores [2]*jetstream.Store
	keys   string // the deployment's shared key dir
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	a, err := jetstream.Open(t.Context(), jetstream.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NKeySeed: seed, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	b, err := jetstream.Open(t.Context(), jetstream.Config{URL: a.ClientURL(), NKeySeed: seed, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return &cluster{stores: [2]*jetstream.Store{a, b}, keys: t.TempDir()}
}

// instance is one integrity.Log of the deployment, in a data dir of its
// own, sharing the cluster's checkpoints and lease.
type instance struct {
	log   *integrity.Log
	store *jetstream.Store
	logs  *logBuffer
	stop  func() error
}

func (c *cluster) open(t *testing.T, i int, name string, mutate ...func(*integrity.Config)) *instance {
	t.Helper()
	ctx := t.Context()
	s := c.stores[i]
	cps, err := jscheckpoints.Open(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := jscheckpoints.Lease(ctx, s, name, leaseTTL)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	cfg := integrity.Config{
		Dir: t.TempDir(), KeyDir: c.keys, Origin: origin, CheckpointInterval: 20 * time.Millisecond,
		Checkpoints: cps, Lease: lease, LeaseTTL: leaseTTL, TreeWait: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	l, err := integrity.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return &instance{log: l, store: s, logs: logs}
}

// run follows the log until stopped (or the test ends).
func (in *instance) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.log.Run(ctx, in.store) }()
	var once sync.Once
	var err error
	in.stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = in.stop() })
}

func (in *instance) published() int { return in.logs.count("checkpoint published") }

var seq int

func event() eventstore.NewEvent {
	seq++
	return eventstore.NewEvent{
		ID: fmt.Sprintf("evt-%d-%d", seq, time.Now().UnixNano()), Type: "attestation.issued", SchemaVersion: 1,
		OccurredAt: time.Date(2020, 4, 1, 9, 0, 0, 0, time.UTC), Actor: eventstore.Actor{Role: "bank", ID: "30004"},
		CorrelationID: "corr", Data: []byte(fmt.Sprintf(`{"n":%d}`, seq)),
	}
}

// write appends n events, alternating between the two stores.
func (c *cluster) write(t *testing.T, n int) uint64 {
	t.Helper()
	var head uint64
	for i := range n {
		res, err := c.stores[i%2].Append(t.Context(), fmt.Sprintf("company-%d", i%7), eventstore.Any(), event())
		if err != nil {
			t.Fatal(err)
		}
		head = res.Position
	}
	return head
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sameList waits until both instances serve the same checkpoints up to
// size, and returns them.
func sameList(t *testing.T, a, b *integrity.Log, size int64) []integrity.SignedCheckpoint {
	t.Helper()
	var list []integrity.SignedCheckpoint
	waitFor(t, fmt.Sprintf("both instances to serve a checkpoint of %d", size), func() bool {
		la, _ := a.Latest()
		lb, _ := b.Latest()
		return la.Size >= size && lb.Size == la.Size
	})
	sizes := a.CheckpointSizes()
	if !slices.Equal(sizes, b.CheckpointSizes()) {
		t.Fatalf("the instances serve different lists: %v and %v", sizes, b.CheckpointSizes())
	}
	for _, s := range sizes {
		ca, err := a.CheckpointAt(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := b.CheckpointAt(t.Context(), s)
		if err != nil || string(ca.Note) != string(cb.Note) {
			t.Fatalf("checkpoint %d differs: %q and %q (%v)", s, ca.Note, cb.Note, err)
		}
		list = append(list, ca)
	}
	return list
}

// checkConsistent checks every checkpoint's signature and, with
// tlog.CheckTree, that each extends the previous one.
func checkConsistent(t *testing.T, l *integrity.Log, list []integrity.SignedCheckpoint) {
	t.Helper()
	for i, c := range list {
		if _, err := integrity.OpenCheckpoint(c.Note, l.VerifierKey()); err != nil {
			t.Fatal(err)
		}
		if i == 0 || list[i-1].Size == 0 {
			continue // nothing to be consistent with
		}
		prev := list[i-1]
		p, err := l.ConsistencyProof(t.Context(), prev.Size, c.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(p.Hashes, c.Size, c.Root, prev.Size, prev.Root); err != nil {
			t.Fatalf("checkpoint %d does not extend %d: %v", c.Size, prev.Size, err)
		}
	}
}

// Two instances: one publishes (the lease holder), both serve the same
// consistent list; when the holder dies without releasing the lease, the
// other takes over once its ttl passes.
func TestOnePublisherOneListAndHandover(t *testing.T) {
	c := newCluster(t)
	a, b := c.open(t, 0, "instance-a"), c.open(t, 1, "instance-b")
	a.run(t)
	b.run(t)
	var head uint64
	for range 5 {
		head = c.write(t, 40)
		time.Sleep(30 * time.Millisecond)
	}
	list := sameList(t, a.log, b.log, int64(head))
	if len(list) < 2 {
		t.Fatalf("only %d checkpoints", len(list))
	}
	checkConsistent(t, a.log, list)
	checkConsistent(t, b.log, list)
	holder, other := a, b
	if b.published() > 0 {
		holder, other = b, a
	}
	if holder.published() == 0 || other.published() != 0 {
		t.Fatalf("publications: holder %d, other %d; want exactly one publisher", holder.published(), other.published())
	}
	if !holder.log.Publishing() || other.log.Publishing() {
		t.Fatalf("Publishing: holder %v, other %v", holder.log.Publishing(), other.log.Publishing())
	}
	// Idle for longer than the ttl: the holder keeps the lease by renewing
	// it, and still is the only publisher afterwards.
	time.Sleep(2 * leaseTTL)
	head = c.write(t, 20)
	list = sameList(t, a.log, b.log, int64(head))
	if other.published() != 0 || !holder.log.Publishing() {
		t.Fatalf("after an idle ttl the publisher changed: other published %d", other.published())
	}

	// The holder dies: it stops and closes without releasing the lease.
	if err := holder.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	_ = holder.log.Close()
	died := time.Now()
	head = c.write(t, 30)
	waitFor(t, "the other instance to publish", func() bool {
		l, _ := other.log.Latest()
		return l.Size >= int64(head)
	})
	took := time.Since(died)
	t.Logf("the other instance published %v after the holder's death (lease ttl %v)", took, leaseTTL)
	if took < leaseTTL/2 {
		t.Fatalf("the other instance published %v after the holder's death, before its lease could expire", took)
	}
	if other.published() == 0 || !other.log.Publishing() {
		t.Fatal("the other instance did not take over publishing")
	}
	sizes := other.log.CheckpointSizes()
	var all []integrity.SignedCheckpoint
	for _, s := range sizes {
		cp, err := other.log.CheckpointAt(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, cp)
	}
	if len(all) <= len(list) {
		t.Fatalf("no checkpoint after the handover: %d then %d", len(list), len(all))
	}
	checkConsistent(t, other.log, all)
}

// An instance whose tree lags a published checkpoint waits for its tree
// before proving against it, and says Unavailable when it does not come.
func TestLaggingInstanceWaitsBeforeProof(t *testing.T) {
	c := newCluster(t)
	a := c.open(t, 0, "instance-a")
	a.run(t)
	head := int64(c.write(t, 50))
	waitFor(t, "a checkpoint", func() bool { l, _ := a.log.Latest(); return l.Size >= head })
	latest, _ := a.log.Latest()

	// b opens with an empty tree: it serves a's checkpoint at once.
	b := c.open(t, 1, "instance-b", func(cfg *integrity.Config) { cfg.TreeWait = 300 * time.Millisecond })
	if got, ok := b.log.Latest(); !ok || string(got.Note) != string(latest.Note) {
		t.Fatalf("b serves %q, want a's %q", got.Note, latest.Note)
	}
	_, err := b.log.InclusionProof(t.Context(), 3, latest.Size)
	if !errors.Is(err, integrity.ErrTreeBehind) || errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("proof from a tree that does not catch up = %v, want ErrTreeBehind (Unavailable)", err)
	}

	b2 := c.open(t, 1, "instance-b2")
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = b2.log.CatchUp(context.Background(), b2.store)
	}()
	start := time.Now()
	p, err := b2.log.InclusionProof(t.Context(), 3, latest.Size)
	if err != nil {
		t.Fatalf("proof while the tree catches up: %v", err)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Fatalf("the proof did not wait for the tree (%v)", time.Since(start))
	}
	if err := tlog.CheckRecord(p.Hashes, latest.Size, latest.Root, 3, p.LeafHash); err != nil {
		t.Fatalf("proof does not check against a's checkpoint: %v", err)
	}
}

// signer loads the deployment's checkpoint signing key, as a forger who
// stole it, or a buggy instance, would use it.
func signer(t *testing.T, keys string) note.Signer {
	t.Helper()
	skey, err := os.ReadFile(filepath.Join(keys, "checkpoint-signer.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A checkpoint in the shared list that an instance's tree contradicts is
// an integrity alarm there: logged at error level, never served.
func TestContradictedCheckpointIsAnAlarmAndNotServed(t *testing.T) {
	c := newCluster(t)
	a := c.open(t, 0, "instance-a")
	head := int64(c.write(t, 20))
	if err := a.log.CatchUp(t.Context(), a.store); err != nil {
		t.Fatal(err)
	}
	good, err := a.log.Checkpoint(t.Context())
	if err != nil || good.Size != head {
		t.Fatalf("Checkpoint = %d, %v", good.Size, err)
	}
	// A note signed with the deployment's key, for a tree of other events.
	bad := integrity.Checkpoint{Origin: origin, Size: head + 5, Root: tlog.Hash{1, 2, 3}}
	signed, err := note.Sign(&note.Note{Text: string(bad.Text())}, signer(t, c.keys))
	if err != nil {
		t.Fatal(err)
	}
	shared, err := jscheckpoints.Open(t.Context(), c.stores[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shared.Append(t.Context(), 1, bad.Size, signed); err != nil {
		t.Fatal(err)
	}
	c.write(t, 10)
	if err := a.log.CatchUp(t.Context(), a.store); err != nil {
		t.Fatal(err)
	}
	_, err = a.log.Checkpoint(t.Context())
	if !errors.Is(err, integrity.ErrInconsistent) {
		t.Fatalf("Checkpoint over a contradicted checkpoint = %v, want ErrInconsistent", err)
	}
	if latest, _ := a.log.Latest(); latest.Size != good.Size {
		t.Fatalf("the contradicted checkpoint is served: latest %d", latest.Size)
	}
	if _, err := a.log.CheckpointAt(t.Context(), bad.Size); !errors.Is(err, integrity.ErrNoCheckpoint) {
		t.Fatalf("CheckpointAt(contradicted) = %v", err)
	}
	if a.logs.count("level=ERROR") == 0 || a.logs.count("INTEGRITY ALARM") == 0 {
		t.Fatal("no integrity alarm logged at error level")
	}
}

// A note in the shared list not signed by the deployment's key is refused.
func TestForeignKeyCheckpointIsRefused(t *testing.T) {
	c := newCluster(t)
	a := c.open(t, 0, "instance-a")
	skey, _, err := note.GenerateKey(nil, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	forged := integrity.Checkpoint{Origin: origin, Size: 1, Root: tlog.Hash{9}}
	signed, _ := note.Sign(&note.Note{Text: string(forged.Text())}, s)
	shared, err := jscheckpoints.Open(t.Context(), c.stores[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shared.Append(t.Context(), 0, 1, signed); err != nil {
		t.Fatal(err)
	}
	if _, err := a.log.Checkpoint(t.Context()); !errors.Is(err, integrity.ErrBadCheckpoint) {
		t.Fatalf("Checkpoint with a forged note in the list = %v, want ErrBadCheckpoint", err)
	}
	if _, ok := a.log.Latest(); ok {
		t.Fatal("the forged note is served")
	}
}
