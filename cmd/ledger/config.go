package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// settings are the configuration keys, their defaults and their help. Each
// is a flag (--data-dir), an environment variable (LEDGER_DATA_DIR) and a
// key of ledger.yaml (data-dir), in that order of precedence.
//
// WARNING: the names are a public contract (README's configuration table).
var settings = []struct {
	key, def, help string
}{
	{"data-dir", "./data", "directory of the embedded event store and read models (and of the keys dir by default)"},
	{"keys-dir", "", "directory of every key: token, checkpoint, provenance, NATS users (default <data-dir>/keys)"},
	{"replicas", "1", "replicas of the ledger stream and of every bucket (3 on a 3-node cluster)"},
	{"http-addr", "127.0.0.1:8080", "address the HTTP API listens on"},
	{"nats-url", "", "external NATS server or cluster URL(s); empty starts the embedded server"},
	{"nats-creds", "", "NATS credentials file for nats-url"},
	{"nats-monitor-url", "", "with nats-url: the servers' monitoring endpoints (comma-separated), to check that each syncs every write"},
	{"nats-listen", "", "host:port on which the embedded NATS server accepts clients; empty: none"},
	{"origin", "attestation-ledger", "origin line of the signed checkpoints (never change it once published)"},
	{"jwks-url", "", "also accept tokens of an external OIDC issuer: its JWK Set URL (jwks_uri)"},
	{"jwt-issuer", "", "with jwks-url: the only accepted iss claim (required)"},
	{"jwt-audience", "", "with jwks-url: an aud claim the tokens must carry (required with jwks-url)"},
	{"token-lifetimes", "", "maximum token lifetimes by role, role=duration,... (default admin=1h,auditor=8h,regulator=8h,bank=24h,company=24h)"},
	{"tls-cert", "", "serve HTTPS: the server's certificate (PEM, leaf first, then intermediates); with tls-key"},
	{"tls-key", "", "with tls-cert: the server's private key (PEM, mode 0600)"},
	{"tls-client-ca", "", "with tls-cert: CA certificates (and their CRLs) of bank client certificates (mTLS; the bank code is the subject's serialNumber)"},
	{"syslog-addr", "", "host:port of a syslog collector the security journal is shipped to (RFC 5424 over TCP); empty: none"},
	{"syslog-tls-ca", "", "with syslog-addr: PEM file of the CA of the collector's certificate; set, the journal is shipped over TLS (RFC 5425)"},
	{"journal-retention", "8760h", "how long the security journal keeps its entries (12 months by default)"},
	{"log-level", "info", "log level: debug, info, warn or error"},
	{"server", "http://127.0.0.1:8080", "base URL of the running server (several, comma-separated: calls go to each in turn)"},
	{"token", "", "bearer token (default: one minted with the key in the data dir)"},
}

// loadConfig reads ledger.yaml (from --config, or the working directory if
// present) and the LEDGER_* environment into a viper bound to cmd's flags.
func loadConfig(cmd *cobra.Command) (*viper.Viper, error) {
	v := viper.New()
	v.SetEnvPrefix("LEDGER")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	for _, s := range settings {
		v.SetDefault(s.key, s.def)
	}
	var bindErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err := v.BindPFlag(f.Name, f); err != nil {
			bindErr = errors.Join(bindErr, err)
		}
	})
	if bindErr != nil {
		return nil, bindErr
	}
	file, _ := cmd.Flags().GetString("config")
	if file == "" {
		file = os.Getenv("LEDGER_CONFIG")
	}
	if file == "" {
		if _, err := os.Stat("ledger.yaml"); err != nil {
			return v, nil
		}
		file = "ledger.yaml"
	}
	v.SetConfigFile(file)
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read config %s: %w", file, err)
	}
	if err := checkConfigKeys(file, cmd); err != nil {
		return nil, err
	}
	return v, nil
}

// checkConfigKeys fails, naming the first key, if the config file has a key
// that is neither a setting nor a flag of some ledger command: a misspelt
// key must not be ignored silently. (No setting is nested: a nested key
// shows as "parent.child" and is unknown too.)
func checkConfigKeys(file string, cmd *cobra.Command) error {
	f := viper.New()
	f.SetConfigFile(file)
	if err := f.ReadInConfig(); err != nil {
		return fmt.Errorf("read config %s: %w", file, err)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.key] = true
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(fl *pflag.Flag) { known[fl.Name] = true })
		c.PersistentFlags().VisitAll(func(fl *pflag.Flag) { known[fl.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cmd.Root())
	var unknown []string
	for _, k := range f.AllKeys() { // lower-cased, sorted below
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("config %s: unknown key %q (known keys are the long flag names, such as data-dir)", file, strings.Join(unknown, `", "`))
	}
	return nil
}

// addSettingFlags declares the flags of the given settings on cmd.
func addSettingFlags(cmd *cobra.Command, keys ...string) {
	for _, k := range keys {
		for _, s := range settings {
			if s.key == k {
				cmd.Flags().String(s.key, s.def, s.help)
			}
		}
	}
}

// newLogger returns a JSON logger to standard error, in UTC, at the
// configured level.
func newLogger(level string) (*slog.Logger, error) { return newLoggerTo(os.Stderr, level) }

// newLoggerTo returns a JSON logger to w whose record times are in UTC
// (slog's JSON handler writes them in local time) at the given level.
func newLoggerTo(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log-level %q: must be debug, info, warn or error", level)
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: l,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
				a.Value = slog.TimeValue(a.Value.Time().UTC())
			}
			return a
		},
	})
	return slog.New(h), nil
}

// durationFlag reads a duration flag.
func durationFlag(v *viper.Viper, key string) (time.Duration, error) {
	d, err := time.ParseDuration(v.GetString(key))
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", key, v.GetString(key), err)
	}
	return d, nil
}
