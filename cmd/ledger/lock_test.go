package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// A second serve, or an offline rebuild, on a data dir a running service
// holds exits at once with the holder's pid, and changes nothing.
func TestSecondProcessOnALiveDataDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	startServer(t, dir)
	want := fmt.Sprintf("data dir %s is in use by process %d", dir, os.Getpid())
	for _, args := range [][]string{
		{"serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0"},
		{"projections", "rebuild", "--offline", "--data-dir", dir},
	} {
		start := time.Now()
		_, err := run(t, args...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s on a live data dir: %v, want %q", strings.Join(args[:2], " "), err, want)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s took %s to refuse", args[0], took)
		}
	}
	// Reading keys is allowed while serve runs.
	if _, err := run(t, "token", "issue", "--role", "auditor", "--subject", "alice", "--data-dir", dir); err != nil {
		t.Fatalf("token issue beside a running serve: %v", err)
	}
}
