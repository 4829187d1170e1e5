// Package natscluster runs a real NATS JetStream cluster for tests and
// benchmarks: each node is a separate nats-server process (built from the
// nats-server/v2 module the ledger already depends on), with its own store,
// JetStream syncing every write (sync_interval: always), authenticated
// clients and routes. Nodes can be killed with SIGKILL and restarted on the
// same store, and, when the cluster runs in network namespaces (root only),
// cut off from the others and healed: a real partition, not a simulated one.
//
// It is test support: nothing in the ledger's service imports it.
package natscluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configures a cluster.
type Options struct {
	// Dir is required: where each node keeps its configuration, store and
	// log (a test's t.TempDir()).
	Dir string
	// Nodes is optional: how many nodes (default 3).
	Nodes int
	// Isolated is optional: run each node in a network namespace of its own,
	// joined by a bridge, so that Partition can cut one off. Needs root
	// (CAP_NET_ADMIN); see Isolatable.
	Isolated bool
	// User and Password are optional: the clients' credentials (default
	// "ledger" and a random password).
	User, Password string
	// NKeys are optional public nkeys ("U…") of more client users, with
	// every right.
	NKeys []string
	// Include is an optional configuration file every node includes
	// (copied beside its configuration), e.g. the accounts of
	// jetstream.ServerAuthConfig.
	Include string
	// Stdout is optional: where each node's log lines also go (they are
	// always kept in <Dir>/<node>/server.log).
	Stdout *os.File
}

func (o *Options) setDefaults() {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.User == "" {
		o.User = "ledger"
	}
	if o.Password == "" {
		o.Password = randomHex(12)
	}
}

// Validate reports every invalid option.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("natscluster: Dir is required"))
	}
	if o.Nodes < 1 || o.Nodes > 9 {
		errs = append(errs, errors.New("natscluster: Nodes must be from 1 to 9"))
	}
	if strings.ContainsAny(o.User+o.Password, "\"\\\n ") {
		errs = append(errs, errors.New("natscluster: User and Password must not hold quotes, backslashes or spaces"))
	}
	return errors.Join(errs...)
}

// Cluster is a running cluster.
type Cluster struct {
	opts  Options
	bin   string
	nodes []*Node
	net   *network // nil unless Isolated
	lock  *os.File // the machine's cluster lock, held until Close
}

// Node is one nats-server process of a cluster.
type Node struct {
	// Name is the node's server name (n1, n2, …).
	Name string
	// Host is the address the node listens on.
	Host string
	// ClientPort, ClusterPort and MonitorPort are its ports.
	ClientPort, ClusterPort, MonitorPort int

	c    *Cluster
	idx  int
	dir  string
	conf string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start builds nats-server if needed, writes each node's configuration and
// starts every node, then waits until each answers its health check.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	lock, err := lockMachine(ctx)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, bin: bin, lock: lock}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	hosts := make([]string, opts.Nodes)
	if opts.Isolated {
		if c.net, err = newNetwork(opts.Nodes); err != nil {
			return nil, err
		}
		hosts = c.net.hosts
	} else {
		for i := range hosts {
			hosts[i] = "127.0.0.1"
		}
	}
	// A free port found on loopback can be taken by another process
	// (another test) before the node binds it: then start again on others.
	// A node that exits while starting for another reason is given the
	// same second chance (its log is kept in the error of the last try).
	for attempt := 1; ; attempt++ {
		err := c.startNodes(ctx, hosts)
		if err == nil {
			break
		}
		if opts.Isolated || attempt == 3 {
			return nil, err
		}
		if !c.portTaken() {
			c.logTail(err)
		}
		for _, n := range c.nodes {
			_ = n.Kill()
			_ = os.RemoveAll(n.dir) // a new cluster, not one that met the old ports
		}
		c.nodes = nil
	}
	ok = true
	return c, nil
}

// startNodes makes, configures and starts the nodes, and waits until they
// are healthy.
func (c *Cluster) startNodes(ctx context.Context, hosts []string) error {
	var err error
	for i := range c.opts.Nodes {
		n := &Node{Name: "n" + strconv.Itoa(i+1), Host: hosts[i], c: c, idx: i}
		n.dir = filepath.Join(c.opts.Dir, n.Name)
		if c.opts.Isolated {
			n.ClientPort, n.ClusterPort, n.MonitorPort = 4222, 6222, 8222
		} else if n.ClientPort, n.ClusterPort, n.MonitorPort, err = freePorts3(); err != nil {
			return err
		}
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		if err := n.writeConfig(); err != nil {
			return err
		}
	}
	for _, n := range c.nodes {
		if err := n.Start(); err != nil {
			return err
		}
	}
	return c.WaitHealthy(ctx)
}

// logTail keeps the end of each node's log in the test output's stead: it
// is about to be removed.
func (c *Cluster) logTail(cause error) {
	for _, n := range c.nodes {
		if b, err := os.ReadFile(n.LogPath()); err == nil {
			if len(b) > 2000 {
				b = b[len(b)-2000:]
			}
			fmt.Fprintf(os.Stderr, "natscluster: starting again after %v; %s's log ended:\n%s\n", cause, n.Name, b)
		}
	}
}

// portTaken reports whether a node's log says its port was taken.
func (c *Cluster) portTaken() bool {
	for _, n := range c.nodes {
		if b, err := os.ReadFile(n.LogPath()); err == nil && strings.Contains(string(b), "address already in use") {
			return true
		}
	}
	return false
}

// Nodes returns the cluster's nodes, n1 first.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// Node returns the node of this server name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// URL returns the client URLs of every node, comma-separated, without
// credentials (give them with User and Password).
func (c *Cluster) URL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = n.URL()
	}
	return strings.Join(urls, ",")
}

// User and Password are the clients' credentials.
func (c *Cluster) User() string { return c.opts.User }

// Password is the clients' password.
func (c *Cluster) Password() string { return c.opts.Password }

// URL returns the node's client URL.
func (n *Node) URL() string {
	return "nats://" + net.JoinHostPort(n.Host, strconv.Itoa(n.ClientPort))
}

// MonitorURL returns the node's monitoring endpoint.
func (n *Node) MonitorURL() string {
	return "http://" + net.JoinHostPort(n.Host, strconv.Itoa(n.MonitorPort))
}

// WaitHealthy waits until every running node answers /healthz with
// JetStream up.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	for _, n := range c.nodes {
		if !n.Running() {
			continue
		}
		if err := n.WaitHealthy(ctx); err != nil {
			return err
		}
	}
	return nil
}

// WaitHealthy waits until the node answers /healthz (JetStream enabled and
// current with the cluster).
func (n *Node) WaitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.MonitorURL()+"/healthz", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("natscluster: node %s not healthy: %v (log: %s)", n.Name, last, n.LogPath())
		case <-n.exited():
			return fmt.Errorf("natscluster: node %s exited while starting (log: %s)", n.Name, n.LogPath())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// LogPath is the file of the node's log.
func (n *Node) LogPath() string { return filepath.Join(n.dir, "server.log") }

// StoreDir is the node's JetStream store.
func (n *Node) StoreDir() string { return filepath.Join(n.dir, "jetstream") }

func (n *Node) writeConfig() error {
	if err := os.MkdirAll(n.StoreDir(), 0o700); err != nil {
		return fmt.Errorf("natscluster: %w", err)
	}
	var routes []string
	for _, o := range n.c.nodes {
		if o != n {
			routes = append(routes, fmt.Sprintf("nats-route://route:%s@%s", n.c.opts.Password, net.JoinHostPort(o.Host, strconv.Itoa(o.ClusterPort))))
		}
	}
	conf := fmt.Sprintf(`server_name: %q
listen: %q
http: %q
jetstream {
  store_dir: %q
  sync_interval: always
}
authorization {
  users: [ { user: %q, password: %q }%s ]
}
`, n.Name, net.JoinHostPort(n.Host, strconv.Itoa(n.ClientPort)), net.JoinHostPort(n.Host, strconv.Itoa(n.MonitorPort)),
		n.StoreDir(), n.c.opts.User, n.c.opts.Password, nkeyUsers(n.c.opts.NKeys))
	if len(n.c.nodes) > 1 {
		conf += fmt.Sprintf(`cluster {
  name: "ledger"
  listen: %q
  authorization { user: "route", password: %q }
  routes: [
    %s
  ]
}
`, net.JoinHostPort(n.Host, strconv.Itoa(n.ClusterPort)), n.c.opts.Password, strings.Join(quoteAll(routes), "\n    "))
	}
	if n.c.opts.Include != "" {
		// nats-server resolves an include beside the including file.
		inc, err := os.ReadFile(n.c.opts.Include)
		if err != nil {
			return fmt.Errorf("natscluster: %w", err)
		}
		if err := os.WriteFile(filepath.Join(n.dir, "include.conf"), inc, 0o600); err != nil {
			return fmt.Errorf("natscluster: %w", err)
		}
		conf += "include \"include.conf\"\n"
	}
	n.conf = filepath.Join(n.dir, "server.conf")
	return os.WriteFile(n.conf, []byte(conf), 0o600)
}

// Wipe deletes the store of a stopped node, as a lost disk would.
func (n *Node) Wipe() error {
	if n.Running() {
		return fmt.Errorf("natscluster: node %s is running; Kill it before Wipe", n.Name)
	}
	if err := os.RemoveAll(n.StoreDir()); err != nil {
		return fmt.Errorf("natscluster: %w", err)
	}
	return os.MkdirAll(n.StoreDir(), 0o700)
}

// Start starts the node's process (again, after Kill), on its store.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return fmt.Errorf("natscluster: node %s is already running", n.Name)
	}
	logf, err := os.OpenFile(n.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("natscluster: %w", err)
	}
	args := []string{"-c", n.conf}
	name := n.c.bin
	if n.c.net != nil {
		args = append([]string{"netns", "exec", n.c.net.namespace(n.idx), n.c.bin}, args...)
		name = "ip"
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if n.c.opts.Stdout != nil {
		cmd.Stdout, cmd.Stderr = io.MultiWriter(logf, n.c.opts.Stdout), io.MultiWriter(logf, n.c.opts.Stdout)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("natscluster: start %s: %w", n.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	n.cmd, n.done = cmd, done
	return nil
}

// Running reports whether the node's process is running.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}

func (n *Node) exited() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return n.done
}

// Kill ends the node's process with SIGKILL (no chance to flush or say
// goodbye) and waits for it to be gone.
func (n *Node) Kill() error {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd, n.done = nil, nil
	n.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("natscluster: kill %s: %w", n.Name, err)
	}
	<-done
	return nil
}

// PID returns the node's process id (0 when stopped).
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Partition cuts the node off the network: from the other nodes and from
// every client (as a machine that lost its network). Isolated clusters only.
func (c *Cluster) Partition(n *Node) error {
	if c.net == nil {
		return errors.New("natscluster: Partition needs an Isolated cluster")
	}
	return c.net.setLink(n.idx, false)
}

// Heal reconnects a partitioned node.
func (c *Cluster) Heal(n *Node) error {
	if c.net == nil {
		return errors.New("natscluster: Heal needs an Isolated cluster")
	}
	return c.net.setLink(n.idx, true)
}

// Close kills every node and removes the network namespaces.
func (c *Cluster) Close() {
	for _, n := range c.nodes {
		_ = n.Kill()
	}
	if c.net != nil {
		c.net.remove()
	}
	unlockMachine(c.lock)
	c.lock = nil
}

func nkeyUsers(keys []string) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, ", { nkey: %q }", k)
	}
	return b.String()
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func freePorts3() (a, b, c int, err error) {
	var ports [3]int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, 0, fmt.Errorf("natscluster: free port: %w", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], ports[2], nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
