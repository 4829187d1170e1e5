package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/attestation-ledger/attestation-ledger/internal/natscluster"
)

// composeFile is the part of docker-compose.yml the test reads.
type composeFile struct {
	Services map[string]struct {
		Build   any      `yaml:"build"`
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
	} `yaml:"services"`
}

// docker-compose.yml runs the ledger with flags the ledger has: every
// `ledger` command in it parses (an unknown or misspelt flag would stop the
// container at start, which `docker-compose config` cannot see).
func TestComposeCommandsParse(t *testing.T) {
	var c composeFile
	data, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for name, svc := range c.Services {
		if svc.Image != "attestation-ledger:local" || len(svc.Command) == 0 {
			continue
		}
		root := newRootCommand()
		cmd, args, err := root.Find(svc.Command)
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatalf("service %s: `ledger %s`: %v", name, strings.Join(svc.Command, " "), err)
		}
		if cmd.Args != nil {
			if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
				t.Fatalf("service %s: %v", name, err)
			}
		}
		seen++
	}
	if seen < 3 {
		t.Fatalf("found %d ledger commands in docker-compose.yml, want keys-init and two instances", seen)
	}
}

// deploy/nats/nats.conf, with the accounts `ledger keys init --nats-auth`
// writes, is a valid configuration for the nats-server version go.mod pins.
func TestComposeNATSConfigParses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nats-server; not in -short")
	}
	bin, err := natscluster.Binary(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf, err := os.ReadFile("../../deploy/nats/nats.conf")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nats.conf"), conf, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "auth"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "keys", "init", "--keys-dir", filepath.Join(dir, "keys"), "--nats-auth", filepath.Join(dir, "auth", "ledger-auth.conf")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "nats.conf"), "-t")
	cmd.Env = append(os.Environ(), "SERVER_NAME=nats-1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration file") {
		t.Fatalf("nats-server -t: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
