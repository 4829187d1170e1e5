package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/internal/natscluster"
)

// clusterStore opens a store on a 3-node cluster of real nats-server
// processes, with the ledger stream replicated on all three.
func clusterStore(t testing.TB, isolated bool) (*natscluster.Cluster, *jetstream.Store) {
	t.Helper()
	if testing.Short() {
		t.Skip("cluster fault tests start real processes; not in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := natscluster.Start(ctx, natscluster.Options{Dir: t.TempDir(), Isolated: isolated})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var s *jetstream.Store
	for {
		s, err = jetstream.Open(ctx, jetstream.Config{
			URL: c.URL(), Username: c.User(), Password: c.Password(), Replicas: 3,
			Logger: quietLogger(), RequestTimeout: 5 * time.Second,
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("open store on the cluster: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Cleanup(func() { _ = s.Close() })
	return c, s
}

// acked is an append the store acknowledged.
type acked struct {
	stream  string
	version uint64
	id      string
	at      time.Time
}

// writeUntil runs writers appending to their own streams until ctx ends,
// each retrying a failed append with the same ids and expectation (as a
// command handler does) until it is acknowledged, and returns every
// acknowledged append.
func writeUntil(ctx context.Context, t *testing.T, s *jetstream.Store, writers int) []acked {
	var mu sync.Mutex
	var out []acked
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("company-w%d", w)
			for v := uint64(0); ctx.Err() == nil; v++ {
				ev := benchEvent()
				ev.ID = fmt.Sprintf("w%d-v%d", w, v+1)
				for ctx.Err() == nil {
					actx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
					res, err := s.Append(actx, stream, eventstore.Exact(v), ev)
					cancel()
					if err == nil {
						mu.Lock()
						out = append(out, acked{stream: stream, version: res.Version, id: ev.ID, at: time.Now()})
						mu.Unlock()
						break
					}
					if errors.Is(err, eventstore.ErrConcurrency) {
						// Only this writer writes this stream: a retry of an
						// append that went through must be recognised as
						// such, never called a conflict.
						t.Errorf("writer %d: conflict on its own stream at version %d: %v", w, v, err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	return out
}

// longestPause is the longest time without any acknowledgement.
func longestPause(acks []acked) time.Duration {
	sort.Slice(acks, func(i, j int) bool { return acks[i].at.Before(acks[j].at) })
	var longest time.Duration
	for i := 1; i < len(acks); i++ {
		longest = max(longest, acks[i].at.Sub(acks[i-1].at))
	}
	return longest
}

// checkLog asserts that the log is contiguous and holds every
// acknowledged append exactly once, at the version acknowledged.
func checkLog(t *testing.T, s *jetstream.Store, acks []acked) {
	t.Helper()
	// Reading tens of thousands of events back, a page at a time from the
	// leader, on a loaded 2-core machine: what is checked is the log, not
	// how fast it reads.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	head, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]eventstore.Envelope{}
	for from := uint64(1); from <= head; {
		envs, err := s.ReadAll(ctx, from, 1000)
		if errors.Is(err, eventstore.ErrUnavailable) && ctx.Err() == nil {
			// A replica just restarted may not answer yet: a 503, not a
			// loss. Ask again.
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(envs) == 0 {
			t.Fatalf("the log ends at %d, its head is %d", from-1, head)
		}
		for _, e := range envs {
			if e.Position != from {
				t.Fatalf("position %d follows %d: the log has a gap", e.Position, from-1)
			}
			if prev, dup := seen[e.ID]; dup {
				t.Fatalf("event %s recorded twice, at %d and %d", e.ID, prev.Position, e.Position)
			}
			seen[e.ID] = e
			from++
		}
	}
	for _, a := range acks {
		e, ok := seen[a.id]
		if !ok {
			t.Fatalf("acknowledged event %s (%s v%d) is not in the log", a.id, a.stream, a.version)
		}
		if e.Stream != a.stream || e.Version != a.version {
			t.Fatalf("event %s is %s v%d, was acknowledged as %s v%d", a.id, e.Stream, e.Version, a.stream, a.version)
		}
	}
	t.Logf("%d acknowledged appends, all in a contiguous log of %d events", len(acks), head)
}

// A stream leader killed with SIGKILL, then a follower, under continuous
// writes: nothing acknowledged is lost, nothing is recorded twice, and
// writes resume within 15 s.
func TestClusterKillLeaderThenFollower(t *testing.T) {
	c, s := clusterStore(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	var acks []acked
	done := make(chan struct{})
	go func() { acks = writeUntil(ctx, t, s, 16); close(done) }()

	time.Sleep(2 * time.Second)
	leader := streamLeader(t, s)
	killed := time.Now()
	if err := c.Node(leader).Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the stream leader %s", leader)
	time.Sleep(8 * time.Second)
	if err := c.Node(leader).Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Node(leader).WaitHealthy(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	follower := ""
	for _, n := range c.Nodes() {
		if n.Name != streamLeader(t, s) {
			follower = n.Name
		}
	}
	if err := c.Node(follower).Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the follower %s", follower)
	time.Sleep(4 * time.Second)
	if err := c.Node(follower).Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	cancel()
	<-done

	resumed := time.Duration(0)
	for _, a := range acks {
		if a.at.After(killed) {
			resumed = a.at.Sub(killed)
			break
		}
	}
	pause := longestPause(acks)
	t.Logf("writes resumed %s after the leader kill; longest pause without an acknowledgement: %s", resumed.Round(time.Millisecond), pause.Round(time.Millisecond))
	if resumed == 0 || resumed > 15*time.Second {
		t.Errorf("writes resumed %s after the leader kill, want within 15 s", resumed)
	}
	checkLog(t, s, acks)
}

// One node cut off the network under continuous writes, then healed.
func TestClusterPartitionOneNode(t *testing.T) {
	if err := natscluster.Isolatable(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the partition test: %v", err)
		}
		t.Skipf("partition test: %v", err)
	}
	c, s := clusterStore(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	var acks []acked
	done := make(chan struct{})
	go func() { acks = writeUntil(ctx, t, s, 16); close(done) }()

	time.Sleep(2 * time.Second)
	cut := c.Node(streamLeader(t, s))
	cutAt := time.Now()
	if err := c.Partition(cut); err != nil {
		t.Fatal(err)
	}
	t.Logf("cut the stream leader %s off", cut.Name)
	time.Sleep(12 * time.Second)
	if err := c.Heal(cut); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	cancel()
	<-done
	resumed := time.Duration(0)
	for _, a := range acks {
		if a.at.After(cutAt.Add(100 * time.Millisecond)) {
			resumed = a.at.Sub(cutAt)
			break
		}
	}
	t.Logf("writes resumed %s after the partition; longest pause: %s", resumed.Round(time.Millisecond), longestPause(acks).Round(time.Millisecond))
	if resumed == 0 || resumed > 15*time.Second {
		t.Errorf("writes resumed %s after the partition, want within 15 s", resumed)
	}
	checkLog(t, s, acks)
}

func streamLeader(t *testing.T, s *jetstream.Store) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		leader, err := s.StreamLeader(ctx)
		if err == nil && leader != "" {
			return leader
		}
		if ctx.Err() != nil {
			t.Fatalf("no stream leader: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
