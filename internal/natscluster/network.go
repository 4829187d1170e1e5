package natscluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
)

// network is a bridge in the caller's namespace with one network namespace
// per node, joined to it by a veth pair: the nodes, and the clients in the
// caller's namespace, reach each other through the bridge; setting a node's
// link down cuts it off from all of them.
//
// Its addresses are private ones that exist only inside these namespaces,
// made by the test itself: traffic never leaves the machine.
type network struct {
	id     string // short unique prefix of the interface and namespace names
	bridge string
	hosts  []string
	subnet string
}

var networks atomic.Int32

// Isolatable reports whether this process may create network namespaces
// (root, with the ip command), and why not.
func Isolatable() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("network namespaces need the ip command (iproute2)")
	}
	return nil
}

func newNetwork(nodes int) (*network, error) {
	if err := Isolatable(); err != nil {
		return nil, fmt.Errorf("natscluster: %w", err)
	}
	// One /24 per network of this process; the pid keeps concurrent test
	// processes apart.
	k := int(networks.Add(1))
	pid := os.Getpid()
	third := (pid*7 + k) % 250
	nw := &network{
		id:     "lg" + strconv.Itoa(pid%100000) + "x" + strconv.Itoa(k),
		subnet: fmt.Sprintf("10.213.%d", third),
	}
	nw.bridge = nw.id + "br"
	ok := false
	defer func() {
		if !ok {
			nw.remove()
		}
	}()
	if err := run("ip", "link", "add", nw.bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	if err := run("ip", "addr", "add", nw.subnet+".1/24", "dev", nw.bridge); err != nil {
		return nil, err
	}
	if err := run("ip", "link", "set", nw.bridge, "up"); err != nil {
		return nil, err
	}
	for i := range nodes {
		ns, outer, inner := nw.namespace(i), nw.outer(i), nw.id+"i"+strconv.Itoa(i)
		host := fmt.Sprintf("%s.%d", nw.subnet, 11+i)
		for _, args := range [][]string{
			{"netns", "add", ns},
			{"link", "add", outer, "type", "veth", "peer", "name", inner},
			{"link", "set", inner, "netns", ns},
			{"link", "set", outer, "master", nw.bridge},
			{"link", "set", outer, "up"},
			{"netns", "exec", ns, "ip", "addr", "add", host + "/24", "dev", inner},
			{"netns", "exec", ns, "ip", "link", "set", inner, "up"},
			{"netns", "exec", ns, "ip", "link", "set", "lo", "up"},
		} {
			if err := run("ip", args...); err != nil {
				return nil, err
			}
		}
		nw.hosts = append(nw.hosts, host)
	}
	ok = true
	return nw, nil
}

func (nw *network) namespace(i int) string { return nw.id + "n" + strconv.Itoa(i) }
func (nw *network) outer(i int) string     { return nw.id + "o" + strconv.Itoa(i) }

func (nw *network) setLink(i int, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return run("ip", "link", "set", nw.outer(i), state)
}

// remove deletes the namespaces (and with them their ends of the veth
// pairs) and the bridge; it ignores what does not exist.
func (nw *network) remove() {
	for i := range len(nw.hosts) + 1 {
		_ = run("ip", "netns", "del", nw.namespace(i))
		_ = run("ip", "link", "del", nw.outer(i))
	}
	_ = run("ip", "link", "del", nw.bridge)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("natscluster: %s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
