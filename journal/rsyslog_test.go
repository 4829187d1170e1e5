package journal

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// rsyslog is a real rsyslogd run by a test: imtcp on a free port (TLS
// through the gnutls driver when certificates are given), every message
// written by omfile in the RFC 5424 format.
type rsyslog struct {
	dir, out string
	port     int
	tls      *rsyslogTLS
	cmd      *exec.Cmd
}

// rsyslogTLS are the server's files for RFC 5425.
type rsyslogTLS struct{ ca, cert, key string }

func newRsyslog(t *testing.T, tlsFiles *rsyslogTLS) *rsyslog {
	t.Helper()
	if _, err := exec.LookPath("rsyslogd"); err != nil {
		if testing.Short() {
			t.Skip("rsyslogd not installed")
		}
		t.Fatal("rsyslogd is not installed: apt-get install rsyslog rsyslog-gnutls (.ci/run does)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir := t.TempDir()
	r := &rsyslog{dir: dir, out: filepath.Join(dir, "journal.log"), port: port, tls: tlsFiles}
	conf := fmt.Sprintf("global(workDirectory=%q)\n", dir)
	input := fmt.Sprintf("input(type=\"imtcp\" port=\"%d\" address=\"127.0.0.1\" ruleset=\"journal\")\n", port)
	if tlsFiles != nil {
		conf = fmt.Sprintf("global(workDirectory=%q defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q)\n",
			dir, tlsFiles.ca, tlsFiles.cert, tlsFiles.key)
		conf += "module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")\n"
	} else {
		conf += "module(load=\"imtcp\")\n"
	}
	conf += input + fmt.Sprintf("ruleset(name=\"journal\") {\n  action(type=\"omfile\" file=%q template=\"RSYSLOG_SyslogProtocol23Format\")\n}\n", r.out)
	if err := os.WriteFile(filepath.Join(dir, "rsyslog.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	return r
}

func (r *rsyslog) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// start runs rsyslogd in the foreground and waits until it accepts.
func (r *rsyslog) start(t *testing.T) {
	t.Helper()
	r.cmd = exec.Command("rsyslogd", "-n", "-f", filepath.Join(r.dir, "rsyslog.conf"), "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = os.Stderr, os.Stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "rsyslogd to listen", func() bool {
		c, err := net.DialTimeout("tcp", r.addr(), 100*time.Millisecond)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	})
}

// stop stops rsyslogd as an operator would (SIGTERM) and waits for it.
func (r *rsyslog) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	_ = r.cmd.Wait()
	r.cmd = nil
}

var posRE = regexp.MustCompile(`\[journal@32473 pos="(\d+)"`)

// positions returns how often each journal position reached the file.
func (r *rsyslog) positions() map[uint64]int {
	data, _ := os.ReadFile(r.out)
	out := map[uint64]int{}
	for _, m := range posRE.FindAllSubmatch(data, -1) {
		p, _ := strconv.ParseUint(string(m[1]), 10, 64)
		out[p]++
	}
	return out
}

// hasAll reports whether positions 1..n all arrived.
func (r *rsyslog) hasAll(n uint64) bool {
	got := r.positions()
	for p := uint64(1); p <= n; p++ {
		if got[p] == 0 {
			return false
		}
	}
	return true
}
