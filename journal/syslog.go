package journal

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"
)

// Syslog defaults.
const (
	// DefaultAppName is the APP-NAME of the syslog messages.
	DefaultAppName = "attestation-ledger"
	// DefaultShipperName is the durable consumer of the journal stream
	// that ships to the collector: one for the deployment, so each entry
	// is shipped by one instance (at least once).
	DefaultShipperName = "syslog-shipper"
	// DefaultShipperGrace is how long the collector may be unreachable
	// with entries waiting before Ready reports it.
	DefaultShipperGrace = time.Minute
	// sdID is the SD-ID of the journal's structured data: RFC 5612's
	// enterprise number for documentation, 32473 (no private enterprise
	// number is registered for the ledger).
	sdID = "journal@32473"
	// facilityLogAudit is RFC 5424's facility 13, "log audit".
	facilityLogAudit = 13
)

// SyslogConfig configures shipping to a syslog collector: RFC 5424
// messages over TCP with octet-counting framing (RFC 6587), over TLS (RFC
// 5425) when TLS is set.
type SyslogConfig struct {
	// Addr is required: the collector's host:port.
	Addr string
	// TLS is optional: the client TLS configuration (root CAs; ServerName
	// defaults to Addr's host). Nil ships over plain TCP.
	TLS *tls.Config
	// AppName is optional (default DefaultAppName).
	AppName string
	// Hostname is optional: the HOSTNAME field (default the host name).
	Hostname string
	// Consumer is optional: the durable consumer's name (default
	// DefaultShipperName).
	Consumer string
	// Grace is optional (default DefaultShipperGrace).
	Grace time.Duration
	// Confirm is optional: how long after writing a batch the connection
	// must still be open for the batch to count as delivered (default
	// DefaultConfirm). A collector that went away answers a write with a
	// reset within a round trip; the batch is then sent again.
	Confirm time.Duration
}

// DefaultConfirm is SyslogConfig.Confirm's default.
const DefaultConfirm = 50 * time.Millisecond

func (c *SyslogConfig) validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("journal config: syslog address %q: %w", c.Addr, err)
	}
	return nil
}

func (c *SyslogConfig) setDefaults() {
	if c.AppName == "" {
		c.AppName = DefaultAppName
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	c.Hostname = printASCII(c.Hostname, 255)
	if c.Consumer == "" {
		c.Consumer = DefaultShipperName
	}
	if c.Grace == 0 {
		c.Grace = DefaultShipperGrace
	}
	if c.Confirm == 0 {
		c.Confirm = DefaultConfirm
	}
	if c.TLS != nil && c.TLS.ServerName == "" {
		host, _, _ := net.SplitHostPort(c.Addr)
		c.TLS = c.TLS.Clone()
		c.TLS.ServerName = host
	}
	if c.TLS != nil && c.TLS.MinVersion < tls.VersionTLS12 {
		c.TLS.MinVersion = tls.VersionTLS12
	}
}

// ShipperStatus is the state of shipping to the collector.
type ShipperStatus struct {
	// Addr is the collector's address.
	Addr string `json:"addr"`
	// Connected tells whether a connection to the collector is open.
	Connected bool `json:"connected"`
	// Backlog is how many entries wait to be shipped (as last seen).
	Backlog uint64 `json:"backlog"`
	// Shipped counts the entries this instance shipped since start.
	Shipped uint64 `json:"shipped"`
	// LastPosition is the position of the last entry shipped.
	LastPosition uint64 `json:"lastPosition"`
	// LastError is the last failure, empty once shipping works again.
	LastError string `json:"lastError,omitempty"`
	// DownSince is when shipping started failing (zero when it works).
	DownSince time.Time `json:"downSince,omitzero"`
}

// shipper ships the journal stream to the collector through a durable
// consumer: an entry is acknowledged only once written to the connection,
// and sent again after a failure (see the package doc for the window a
// TCP collector can still lose).
type shipper struct {
	cfg  SyslogConfig
	log  *slog.Logger
	pid  string
	conn net.Conn // used by run only

	lastRefresh time.Time // used by run only

	mu sync.Mutex
	st ShipperStatus
}

func newShipper(cfg SyslogConfig, log *slog.Logger) *shipper {
	cfg.setDefaults()
	return &shipper{cfg: cfg, log: log, pid: strconv.Itoa(os.Getpid()), st: ShipperStatus{Addr: cfg.Addr}}
}

func (s *shipper) status() ShipperStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *shipper) update(fn func(*ShipperStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.st)
}

func (s *shipper) fail(err error) {
	s.closeConn()
	s.update(func(st *ShipperStatus) {
		if st.LastError == "" {
			s.log.Warn("journal: cannot ship to the syslog collector; entries wait in the journal", "addr", s.cfg.Addr, "err", err)
		}
		st.Connected, st.LastError = false, err.Error()
		if st.DownSince.IsZero() {
			st.DownSince = time.Now()
		}
	})
}

func (s *shipper) closeConn() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// run ships until ctx ends.
func (s *shipper) run(ctx context.Context, j *Journal) {
	defer s.closeConn()
	backoff := 100 * time.Millisecond
	pause := func() {
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	var cons njs.Consumer
	for ctx.Err() == nil {
		if cons == nil {
			c, err := j.js.CreateOrUpdateConsumer(ctx, StreamName, njs.ConsumerConfig{
				Durable: s.cfg.Consumer, Description: "ships the security journal to the syslog collector",
				AckPolicy: njs.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 4096,
				DeliverPolicy: njs.DeliverAllPolicy,
			})
			if err != nil {
				s.fail(fmt.Errorf("open the shipper's consumer: %w", err))
				pause()
				continue
			}
			cons = c
		}
		if err := s.connect(ctx); err != nil {
			s.fail(err)
			s.refreshBacklog(ctx, cons)
			pause()
			continue
		}
		n, err := s.shipBatch(ctx, cons)
		if err != nil {
			s.fail(err)
			pause()
			continue
		}
		backoff = 100 * time.Millisecond
		if n == 0 {
			s.refreshBacklog(ctx, cons)
		}
	}
}

// connect makes sure a live connection is open: a connection the
// collector closed shows as readable (EOF) and is replaced before any
// entry is written into it.
func (s *shipper) connect(ctx context.Context) error {
	if s.conn != nil && alive(s.conn, time.Millisecond) {
		return nil
	}
	s.closeConn()
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}
	var c net.Conn
	var err error
	if s.cfg.TLS != nil {
		c, err = (&tls.Dialer{NetDialer: d, Config: s.cfg.TLS}).DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		c, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return fmt.Errorf("connect to the syslog collector %s: %w", s.cfg.Addr, err)
	}
	s.conn = c
	s.update(func(st *ShipperStatus) {
		if st.LastError != "" {
			s.log.Info("journal: shipping to the syslog collector again", "addr", s.cfg.Addr)
		}
		st.Connected, st.LastError, st.DownSince = true, "", time.Time{}
	})
	return nil
}

// alive reports whether the peer has not closed c: a syslog collector
// never sends, so a read that times out means the connection is open.
func alive(c net.Conn, wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	var b [1]byte
	_, err := c.Read(b[:])
	_ = c.SetReadDeadline(time.Time{})
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// shipBatch writes the next entries to the collector and acknowledges
// them; on a failure they are negatively acknowledged, to be sent again.
func (s *shipper) shipBatch(ctx context.Context, cons njs.Consumer) (int, error) {
	batch, release, err := fetch(ctx, cons, 256, 250*time.Millisecond)
	if err != nil {
		return 0, fmt.Errorf("read the journal: %w", err)
	}
	var msgs []njs.Msg
	var buf bytes.Buffer
	var last, pendingAfter uint64
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			continue
		}
		frame, err := s.frame(md.Sequence.Stream, m.Data())
		if err != nil {
			s.log.Error("journal: an entry of the journal stream cannot be shipped; skipping it", "position", md.Sequence.Stream, "err", err)
			_ = m.Term()
			continue
		}
		buf.WriteString(strconv.Itoa(len(frame)))
		buf.WriteByte(' ')
		buf.Write(frame)
		msgs = append(msgs, m)
		last, pendingAfter = md.Sequence.Stream, md.NumPending
	}
	release()
	if len(msgs) == 0 {
		return 0, nil
	}
	// The fetch may have waited: the collector may have gone meanwhile.
	err = s.connect(ctx)
	if err == nil {
		_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err = s.conn.Write(buf.Bytes()); err != nil {
			err = fmt.Errorf("write to the syslog collector %s: %w", s.cfg.Addr, err)
		} else if !alive(s.conn, s.cfg.Confirm) {
			err = fmt.Errorf("the syslog collector %s closed the connection after a write: sending the batch again", s.cfg.Addr)
		}
	}
	if err != nil {
		for _, m := range msgs {
			_ = m.NakWithDelay(time.Second)
		}
		return 0, err
	}
	for _, m := range msgs {
		_ = m.Ack()
	}
	s.update(func(st *ShipperStatus) {
		st.Shipped += uint64(len(msgs))
		st.LastPosition, st.Backlog = last, pendingAfter
	})
	return len(msgs), nil
}

// refreshBacklog reads the consumer's count of entries not yet shipped.
func (s *shipper) refreshBacklog(ctx context.Context, cons njs.Consumer) {
	if time.Since(s.lastRefresh) < time.Second {
		return
	}
	s.lastRefresh = time.Now()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := cons.Info(ctx)
	if err != nil {
		return
	}
	s.update(func(st *ShipperStatus) { st.Backlog = info.NumPending + uint64(info.NumAckPending) })
}

// frame is the RFC 5424 message of the entry at position: PRI from the
// facility "log audit" and the result, the entry's UTC timestamp, the
// action as MSGID, the position, id and who/tenant/result as structured
// data, and the leaf (the entry's JSON with its position) as MSG, so the
// collector can check it against the journal's checkpoints. The position
// makes a duplicate (at-least-once delivery) recognisable.
func (s *shipper) frame(position uint64, stored []byte) ([]byte, error) {
	e, err := decode(stored)
	if err != nil {
		return nil, err
	}
	leaf, err := Leaf(position, stored)
	if err != nil {
		return nil, err
	}
	sev := 6 // informational
	switch e.Result {
	case Denied, Failure:
		sev = 4 // warning
	case Error:
		sev = 3 // error
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s %s %s %s %s [%s", facilityLogAudit*8+sev, e.Time.UTC().Format(timeLayout),
		s.cfg.Hostname, printASCII(s.cfg.AppName, 48), s.pid, printASCII(string(e.Action), 32), sdID)
	for _, p := range [][2]string{{"pos", strconv.FormatUint(position, 10)}, {"id", e.ID}, {"result", string(e.Result)},
		{"subject", e.Subject}, {"role", e.Role}, {"tenant", e.Tenant}, {"object", e.Object}, {"src", e.Source}, {"req", e.RequestID}} {
		if p[1] == "" {
			continue
		}
		fmt.Fprintf(&b, " %s=\"%s\"", p[0], sdEscape(p[1]))
	}
	b.WriteString("] ")
	b.Write(leaf)
	return b.Bytes(), nil
}

// sdEscape escapes an SD-PARAM value (RFC 5424 §6.3.3).
func sdEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(v)
}

// printASCII keeps the printable US-ASCII of s (RFC 5424 header fields),
// at most n bytes, "-" when nothing is left.
func printASCII(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if s[i] >= 33 && s[i] <= 126 {
			b.WriteByte(s[i])
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}
