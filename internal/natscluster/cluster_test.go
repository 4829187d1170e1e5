package natscluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/internal/natscluster"
)

func startCluster(t *testing.T, isolated bool) *natscluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := natscluster.Start(ctx, natscluster.Options{Dir: t.TempDir(), Isolated: isolated})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func connect(t *testing.T, c *natscluster.Cluster) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(c.URL(), nats.UserInfo(c.User(), c.Password()), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		// A partitioned server keeps its TCP connections open: only pings notice.
		nats.PingInterval(time.Second), nats.MaxPingsOutstanding(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func createStream(t *testing.T, js jetstream.JetStream) jetstream.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe.>"}, Replicas: 3, Storage: jetstream.FileStorage})
		if err == nil {
			return s
		}
		if ctx.Err() != nil {
			t.Fatalf("create stream: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// publishUntil publishes until one publish is acknowledged or the time is
// up, and returns how long it took.
func publishUntil(t *testing.T, js jetstream.JetStream, subject string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.Publish(ctx, subject, []byte("x"))
		cancel()
		if err == nil {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no publish acknowledged within %s", limit)
	return 0
}

func leader(t *testing.T, s jetstream.Stream) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		info, err := s.Info(ctx)
		if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
			return info.Cluster.Leader
		}
		if ctx.Err() != nil {
			t.Fatalf("no stream leader: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKillLeaderAndRestart(t *testing.T) {
	c := startCluster(t, false)
	_, js := connect(t, c)
	s := createStream(t, js)
	for i := range 10 {
		publishUntil(t, js, fmt.Sprintf("probe.%d", i), 10*time.Second)
	}
	old := c.Node(leader(t, s))
	if err := old.Kill(); err != nil {
		t.Fatal(err)
	}
	pause := publishUntil(t, js, "probe.after-kill", 30*time.Second)
	t.Logf("writes resumed %s after killing the stream leader %s", pause.Round(time.Millisecond), old.Name)
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	if err := old.WaitHealthy(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 11 {
		t.Fatalf("stream holds %d messages after the kill, want 11", info.State.Msgs)
	}
}

func TestPartitionAndHeal(t *testing.T) {
	if err := natscluster.Isolatable(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the partition test: %v", err)
		}
		t.Skipf("partition test: %v", err)
	}
	c := startCluster(t, true)
	_, js := connect(t, c)
	s := createStream(t, js)
	publishUntil(t, js, "probe.before", 10*time.Second)
	cut := c.Node(leader(t, s))
	if err := c.Partition(cut); err != nil {
		t.Fatal(err)
	}
	pause := publishUntil(t, js, "probe.during", 30*time.Second)
	t.Logf("writes resumed %s after cutting the stream leader %s off", pause.Round(time.Millisecond), cut.Name)
	if now := leader(t, s); now == cut.Name {
		t.Fatalf("the partitioned node %s is still the leader", cut.Name)
	}
	if err := c.Heal(cut); err != nil {
		t.Fatal(err)
	}
	// The healed node catches up: ask it directly for the stream's state.
	nc, err := nats.Connect(cut.URL(), nats.UserInfo(c.User(), c.Password()))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := checkReplica(c, cut.Name, s)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkReplica reports whether node is a current replica of the stream.
func checkReplica(c *natscluster.Cluster, node string, s jetstream.Stream) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	if info.Cluster == nil {
		return errors.New("no cluster info")
	}
	if info.Cluster.Leader == node {
		return nil
	}
	for _, r := range info.Cluster.Replicas {
		if r.Name == node && r.Current {
			return nil
		}
	}
	return fmt.Errorf("node %s is not a current replica: %+v", node, info.Cluster)
}
