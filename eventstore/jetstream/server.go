package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// startEmbedded starts a nats-server in this process with JetStream on
// cfg.DataDir, syncing every write to disk before acknowledging it.
func startEmbedded(cfg *Config) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "attestation-ledger",
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		// No acknowledgement before the write is on disk (a decision of the
		// design): nats-server's default flushes every two minutes.
		SyncAlways: true,
		NoSigs:     true,
		DontListen: cfg.Listen == "",
	}
	// With users, no client gets in without an nkey, in-process or not.
	users, err := embeddedUsers(cfg)
	if err != nil {
		return nil, err
	}
	opts.Nkeys = users
	for _, u := range users {
		if u.Account != nil {
			opts.Accounts = []*server.Account{u.Account}
			break
		}
	}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("listen address %q: %w", cfg.Listen, err)
		}
		opts.Host = host
		if opts.Port, err = strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("listen address %q: %w", cfg.Listen, err)
		}
		if opts.Port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start embedded nats-server: %w", err)
	}
	ns.SetLoggerV2(serverLogger{cfg.Logger.With("component", "nats-server")}, false, false, false)
	if len(opts.Accounts) > 0 {
		if err := linkAuditAccount(ns); err != nil {
			return nil, err
		}
	}
	go ns.Start()
	if !ns.ReadyForConnections(cfg.ConnectTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("start embedded nats-server in %s: %w: not ready after %v", cfg.DataDir, eventstore.ErrUnavailable, cfg.ConnectTimeout)
	}
	if len(opts.Accounts) > 0 {
		if err := enableLedgerJetStream(ns); err != nil {
			ns.Shutdown()
			ns.WaitForShutdown()
			return nil, err
		}
	}
	if !ns.JetStreamEnabled() || !ns.JetStreamConfig().SyncAlways {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("start embedded nats-server: JetStream is not enabled with sync always")
	}
	return ns, nil
}

// connect opens the store's connection, in-process to the embedded server
// or to cfg.URL.
func connect(cfg *Config, ns *server.Server, onDisconnect func()) (*nats.Conn, error) {
	log := cfg.Logger
	opts := []nats.Option{
		nats.Name("attestation-ledger eventstore"),
		nats.Timeout(cfg.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			onDisconnect()
			if err != nil {
				log.Warn("eventstore: disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("eventstore: reconnected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("eventstore: NATS asynchronous error", "subject", subject, "err", err)
		}),
	}
	if len(cfg.NKeySeed) > 0 {
		o, err := nkeyOption(cfg.NKeySeed)
		if err != nil {
			return nil, err
		}
		opts = append(opts, o)
	}
	url := cfg.URL
	if ns != nil {
		url = ns.ClientURL()
		opts = append(opts, nats.InProcessServer(ns))
	} else {
		if cfg.CredentialsFile != "" {
			opts = append(opts, nats.UserCredentials(cfg.CredentialsFile))
		}
		if cfg.Username != "" {
			opts = append(opts, nats.UserInfo(cfg.Username, cfg.Password))
		}
		if cfg.Token != "" {
			opts = append(opts, nats.Token(cfg.Token))
		}
		if cfg.TLS != nil {
			opts = append(opts, nats.Secure(cfg.TLS))
		}
		// A server cut off by a partition keeps the TCP connection open and
		// silent: only pings notice, and the client then reconnects to
		// another node of the cluster. Two missed pings a second apart
		// take 2-3 s, well within the 4-9 s the cluster needs to elect
		// another stream leader.
		opts = append(opts, nats.PingInterval(time.Second), nats.MaxPingsOutstanding(2))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w: %w", eventstore.ErrUnavailable, err)
	}
	return nc, nil
}

// streamConfig is the ledger stream's configuration.
func streamConfig(cfg *Config) njs.StreamConfig {
	return njs.StreamConfig{
		Name:        StreamName,
		Description: "attestation-ledger events, one subject per aggregate stream",
		Subjects:    []string{subjectPrefix + ">"},
		Storage:     njs.FileStorage,
		Retention:   njs.LimitsPolicy,
		Discard:     njs.DiscardNew,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		MaxAge:      0,
		MaxMsgSize:  -1,
		Replicas:    cfg.Replicas,
		Duplicates:  cfg.DuplicateWindow,
		DenyDelete:  true,
		DenyPurge:   true,
		AllowRollup: false,
		AllowDirect: true,
		// Atomic batches carry one command's events, and the group commit.
		AllowAtomicPublish: true,
		PersistMode:        njs.DefaultPersistMode,
	}
}

// ensureStream creates the ledger stream, or checks an existing one and
// brings the settings the store relies on back to what it needs.
func ensureStream(ctx context.Context, js njs.JetStream, cfg *Config) (njs.Stream, error) {
	want := streamConfig(cfg)
	st, err := js.Stream(ctx, StreamName)
	if errors.Is(err, njs.ErrStreamNotFound) {
		st, err = js.CreateStream(ctx, want)
		if err != nil {
			return nil, fmt.Errorf("create stream %s: %w", StreamName, translate(err))
		}
		cfg.Logger.Info("eventstore: created the ledger stream", "stream", StreamName, "replicas", want.Replicas)
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up stream %s: %w", StreamName, translate(err))
	}
	have := st.CachedInfo().Config
	if len(have.Subjects) != 1 || have.Subjects[0] != want.Subjects[0] {
		return nil, fmt.Errorf("stream %s has subjects %v, want %v", StreamName, have.Subjects, want.Subjects)
	}
	if have.Storage != njs.FileStorage {
		return nil, fmt.Errorf("stream %s uses %v storage, want file", StreamName, have.Storage)
	}
	var fix []string
	upd := have
	if have.Discard != njs.DiscardNew {
		upd.Discard, fix = njs.DiscardNew, append(fix, "discard new")
	}
	if !have.DenyDelete || !have.DenyPurge {
		upd.DenyDelete, upd.DenyPurge, fix = true, true, append(fix, "deny delete and purge")
	}
	if have.AllowRollup {
		upd.AllowRollup, fix = false, append(fix, "no rollup")
	}
	if !have.AllowAtomicPublish {
		upd.AllowAtomicPublish, fix = true, append(fix, "allow atomic publish")
	}
	if !have.AllowDirect {
		upd.AllowDirect, fix = true, append(fix, "allow direct")
	}
	if have.Duplicates < time.Second {
		upd.Duplicates, fix = want.Duplicates, append(fix, "duplicate window")
	}
	if have.PersistMode == njs.AsyncPersistMode {
		upd.PersistMode, fix = njs.DefaultPersistMode, append(fix, "synchronous persistence")
	}
	if have.MaxAge != 0 || have.MaxMsgs > 0 || have.MaxBytes > 0 || have.MaxMsgsPerSubject > 0 {
		cfg.Logger.Warn("eventstore: the ledger stream has limits: appends will fail when they are reached",
			"stream", StreamName, "max_age", have.MaxAge, "max_msgs", have.MaxMsgs, "max_bytes", have.MaxBytes,
			"max_msgs_per_subject", have.MaxMsgsPerSubject)
	}
	if len(fix) == 0 {
		return st, nil
	}
	cfg.Logger.Warn("eventstore: updating the ledger stream's configuration", "stream", StreamName, "changes", strings.Join(fix, ", "))
	st, err = js.UpdateStream(ctx, upd)
	if err != nil {
		return nil, fmt.Errorf("update stream %s (%s): %w", StreamName, strings.Join(fix, ", "), translate(err))
	}
	return st, nil
}

// varz is the part of nats-server's /varz the store reads.
type varz struct {
	ServerName string `json:"server_name"`
	JetStream  struct {
		Config *struct {
			SyncAlways bool `json:"sync_always"`
		} `json:"config"`
	} `json:"jetstream"`
}

// checkExternalSync verifies that the external servers acknowledge writes
// only once they are on disk. It asks through the system account, then
// every server of cfg.MonitorURL. A server seen not to sync every write is
// refused (an acknowledged append could be lost in a crash); when no
// server can be asked it warns loudly.
func checkExternalSync(ctx context.Context, nc *nats.Conn, cfg *Config, replicas int) error {
	log := cfg.Logger
	var found []varz
	var sources []string
	if msg, err := nc.RequestWithContext(ctx, "$SYS.REQ.SERVER.PING.VARZ", nil); err == nil {
		var resp struct {
			Data varz `json:"data"`
		}
		if json.Unmarshal(msg.Data, &resp) == nil && resp.Data.JetStream.Config != nil {
			found, sources = append(found, resp.Data), append(sources, "system account")
		}
	}
	if len(found) == 0 && cfg.MonitorURL != "" {
		for _, u := range strings.Split(cfg.MonitorURL, ",") {
			u = strings.TrimSpace(u)
			v, err := fetchVarz(ctx, u)
			if err != nil {
				log.Warn("DURABILITY WARNING: cannot read a NATS monitoring endpoint to check that it syncs every write", "url", u, "err", err)
			} else if v.JetStream.Config != nil {
				found, sources = append(found, v), append(sources, u)
			}
		}
	}
	if len(found) == 0 {
		log.Warn("DURABILITY WARNING: eventstore cannot verify that the external NATS server syncs every write to disk; "+
			"run every server with `jetstream { sync_interval: always }` (and give its monitoring endpoint so this can be checked)",
			"url", cfg.URL, "stream_replicas", replicas)
		return nil
	}
	var bad []string
	for i, v := range found {
		if !v.JetStream.Config.SyncAlways {
			bad = append(bad, fmt.Sprintf("%s (checked via %s)", v.ServerName, sources[i]))
			continue
		}
		log.Info("eventstore: the external NATS server syncs every write to disk", "server", v.ServerName, "checked_via", sources[i])
	}
	if len(bad) > 0 {
		return fmt.Errorf("the NATS server %s does not sync every write to disk (sync_always is off), so an acknowledged append could be lost in a crash: set `jetstream { sync_interval: always }` on every server",
			strings.Join(bad, ", "))
	}
	return nil
}

func fetchVarz(ctx context.Context, monitorURL string) (varz, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(monitorURL, "/")+"/varz", nil)
	if err != nil {
		return varz{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return varz{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return varz{}, fmt.Errorf("GET /varz: %s", resp.Status)
	}
	var v varz
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return varz{}, fmt.Errorf("decode /varz: %w", err)
	}
	return v, nil
}

// serverLogger sends nats-server's logs to slog.
type serverLogger struct{ log *slog.Logger }

func (l serverLogger) Noticef(format string, v ...any) { l.log.Info(fmt.Sprintf(format, v...)) }
func (l serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l serverLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
