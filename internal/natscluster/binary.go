package natscluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
)

// serverModule is the module whose main package is nats-server.
const serverModule = "github.com/nats-io/nats-server/v2"

var built struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of a nats-server executable built from the
// version of the nats-server/v2 module this program was built with (the
// one in go.mod), building it on first use into the user's cache
// directory, shared by every test process (a file lock keeps two from
// building at once).
func Binary(ctx context.Context) (string, error) {
	built.once.Do(func() { built.path, built.err = build(ctx) })
	return built.path, built.err
}

func build(ctx context.Context) (string, error) {
	version := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == serverModule {
				version = m.Version
			}
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "attestation-ledger", "nats-server-"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("natscluster: %w", err)
	}
	bin := filepath.Join(dir, "nats-server")
	lock, err := os.OpenFile(filepath.Join(dir, "build.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("natscluster: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("natscluster: lock %s: %w", lock.Name(), err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if version != "unknown" {
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	// Built from the module's own directory so that go.mod pins the version.
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, serverModule)
	cmd.Dir = moduleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("natscluster: build nats-server: %v: %s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("natscluster: %w", err)
	}
	return bin, nil
}

// moduleRoot finds the directory of the ledger's go.mod from the working
// directory (a test runs in its package's directory).
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
