package jetstream

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
)

func TestConfigValidate(t *testing.T) {
	valid := func(c Config) Config { c.setDefaults(); return c }
	kp, _ := nkeys.CreateUser()
	seed, _ := kp.Seed()
	akp, _ := nkeys.CreateUser()
	auditor, _ := akp.PublicKey()
	for name, tc := range map[string]struct {
		cfg  Config
		want []string
	}{
		"embedded":             {cfg: valid(Config{DataDir: "/x"})},
		"external":             {cfg: valid(Config{URL: "nats://a:4222,nats://b:4222", CredentialsFile: "/c", MonitorURL: "http://a:8222", Replicas: 3})},
		"embedded listening":   {cfg: valid(Config{DataDir: "/x", Listen: "127.0.0.1:0", NKeySeed: seed, AuditorNKeys: []string{auditor}})},
		"listening anonymous":  {cfg: valid(Config{DataDir: "/x", Listen: "127.0.0.1:0"}), want: []string{"needs NKeySeed"}},
		"bad seed":             {cfg: valid(Config{DataDir: "/x", NKeySeed: []byte("SUnope")}), want: []string{"NKeySeed"}},
		"auditor not a user":   {cfg: valid(Config{DataDir: "/x", NKeySeed: seed, AuditorNKeys: []string{"Nxyz"}}), want: []string{"not a public user nkey"}},
		"auditor without seed": {cfg: valid(Config{DataDir: "/x", AuditorNKeys: []string{auditor}}), want: []string{"need NKeySeed"}},
		"auditor with url":     {cfg: valid(Config{URL: "nats://a", NKeySeed: seed, AuditorNKeys: []string{auditor}}), want: []string{"embedded server only"}},
		"seed and creds":       {cfg: valid(Config{URL: "nats://a", NKeySeed: seed, CredentialsFile: "/c"}), want: []string{"one of NKeySeed"}},
		"nothing":              {cfg: valid(Config{}), want: []string{"needs DataDir"}},
		"listen with url":      {cfg: valid(Config{URL: "nats://a", Listen: ":4222"}), want: []string{"applies to the embedded server only"}},
		"bad listen":           {cfg: valid(Config{DataDir: "/x", Listen: "4222"}), want: []string{`listen address "4222"`}},
		"empty url entry":      {cfg: valid(Config{URL: "nats://a,,nats://b"}), want: []string{"empty entry"}},
		"creds without url":    {cfg: valid(Config{DataDir: "/x", Token: "t"}), want: []string{"apply to URL only"}},
		"token and user":       {cfg: valid(Config{URL: "nats://a", Token: "t", Username: "u"}), want: []string{"Token or Username"}},
		"everything wrong at once": {
			cfg: valid(Config{DataDir: "/x", Replicas: 7, DuplicateWindow: time.Millisecond, MaxBatchMessages: 5000,
				MaxBatchBytes: 10, MaxInflightBatches: 99, MaxBatchDelay: time.Minute, CachedStreams: -1,
				RequestTimeout: -1, ConnectTimeout: -1}),
			want: []string{"Replicas 7", "DuplicateWindow", "MaxBatchMessages 5000", "MaxBatchBytes 10", "MaxInflightBatches 99",
				"MaxBatchDelay", "CachedStreams -1", "RequestTimeout", "ConnectTimeout"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("invalid config accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{DataDir: "/x"}
	c.setDefaults()
	if c.Replicas != 1 || c.DuplicateWindow != DefaultDuplicateWindow || c.MaxBatchMessages != DefaultMaxBatchMessages ||
		c.MaxInflightBatches != DefaultMaxInflightBatches || c.MaxBatchDelay != DefaultMaxBatchDelay || c.Logger == nil ||
		c.RequestTimeout != DefaultRequestTimeout {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestSubjects(t *testing.T) {
	for stream, subject := range map[string]string{
		"company-732829320":     "ledger.company.732829320",
		"company_profile-a-b_C": "ledger.company_profile.a-b_C",
	} {
		if got := Subject(stream); got != subject {
			t.Errorf("Subject(%q) = %q, want %q", stream, got, subject)
		}
		if got, err := streamOf(subject); err != nil || got != stream {
			t.Errorf("streamOf(%q) = %q, %v", subject, got, err)
		}
	}
	for _, bad := range []string{"other.company.1", "ledger.company", "ledger."} {
		if _, err := streamOf(bad); err == nil {
			t.Errorf("streamOf(%q) accepted", bad)
		}
	}
}
