package jetstream_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
)

// The crash test re-executes this test binary as a writer process (see
// TestMain): it appends with many concurrent writers to an embedded store
// and prints every acknowledged event ID, until the parent kills it with
// SIGKILL at a random moment. After each kill the parent reopens the store
// and checks that every acknowledged event is there exactly once, that
// positions have no gap, that every stream's versions are contiguous, and
// that no append was torn.

const (
	crashDirEnv = "LEDGER_CRASH_CHILD_DIR"
	crashRunEnv = "LEDGER_CRASH_CHILD_RUN"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir, os.Getenv(crashRunEnv))
		return
	}
	os.Exit(m.Run())
}

// crashChild appends until killed. Event IDs are
// "<run>.<writer>.<append>.<event>-<events in the append>".
func crashChild(dir, run string) {
	ctx := context.Background()
	s, err := jetstream.Open(ctx, jetstream.Config{DataDir: dir, Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	emit := func(line string) {
		out.Lock()
		defer out.Unlock()
		_, _ = os.Stdout.WriteString(line + "\n") // unbuffered: nothing lost at SIGKILL
	}
	emit("READY")
	const writers = 48
	for w := range writers {
		go func() {
			stream := fmt.Sprintf("crash-r%sw%d", run, w)
			hot := w%8 == 0
			if hot {
				stream = "crash-hot"
			}
			var version uint64
			for i := 0; ; i++ {
				n := 1 + (w+i)%3
				evs := make([]eventstore.NewEvent, n)
				for j := range evs {
					evs[j] = eventstore.NewEvent{
						ID:   fmt.Sprintf("%s.%d.%d.%d-%d", run, w, i, j, n),
						Type: "crash.tested", SchemaVersion: 1, OccurredAt: time.Now(),
						Data: []byte(`{"payload":"` + strings.Repeat("x", 200) + `"}`),
					}
				}
				exp := eventstore.Exact(version)
				if hot {
					exp = eventstore.Any()
				}
				res, err := s.Append(ctx, stream, exp, evs...)
				for attempt := 0; errors.Is(err, eventstore.ErrUnavailable) && attempt < 10; attempt++ {
					// Outcome unknown (a slow disk): retry the same append,
					// which the store recognises if it was stored.
					res, err = s.Append(ctx, stream, exp, evs...)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				version = res.Version
				for _, e := range res.Events {
					emit("ACK " + e.ID)
				}
			}
		}()
	}
	select {}
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a writer process a dozen times")
	}
	dir := t.TempDir()
	const runs = 12
	acked := map[string]bool{}
	deadline := time.Now().Add(50 * time.Second)
	for run := range runs {
		if run >= 10 && time.Now().After(deadline) {
			t.Logf("stopping after %d runs to keep the test short", run)
			break
		}
		got := runCrashChild(t, dir, run, time.Duration(150+rand.IntN(600))*time.Millisecond)
		for _, id := range got {
			acked[id] = true
		}
		n := verifyCrashedStore(t, dir, acked)
		t.Logf("run %d: %d events acknowledged before SIGKILL, %d in the log", run, len(got), n)
	}
}

// runCrashChild starts a writer process, kills it with SIGKILL after the
// given time of appending, and returns the event IDs it acknowledged.
func runCrashChild(t *testing.T, dir string, run int, after time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	lines := make(chan []string, 1)
	go func() {
		var ids []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == "READY" {
				close(ready)
			} else if id, ok := strings.CutPrefix(line, "ACK "); ok {
				ids = append(ids, id)
			}
		}
		lines <- ids
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("run %d: the writer did not start: %s", run, stderr.String())
	}
	time.Sleep(after)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	err = cmd.Wait()
	ids := <-lines
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("run %d: the writer ended by itself (%v): %s", run, err, stderr.String())
	}
	return ids
}

// verifyCrashedStore reopens the store and checks it against what was
// acknowledged; it returns the number of events in the log.
func verifyCrashedStore(t *testing.T, dir string, acked map[string]bool) int {
	t.Helper()
	var logs strings.Builder
	var logMu sync.Mutex
	s := openStore(t, dir, func(c *jetstream.Config) {
		c.Logger = slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	defer s.Close()
	defer func() {
		logMu.Lock()
		defer logMu.Unlock()
		if n := strings.Count(logs.String(), "Restoring partial batch write"); n > 0 {
			t.Logf("the server completed %d partially written batch(es) on restart", n)
		}
	}()
	ctx := context.Background()
	seen := map[string]int{}
	versions := map[string]uint64{}
	appends := map[string][]string{} // "<run>.<writer>.<append>" -> ids
	var pos uint64
	for {
		page, err := s.ReadAll(ctx, pos+1, 1000)
		if err != nil {
			t.Fatalf("read all from %d: %v", pos+1, err)
		}
		for _, e := range page {
			pos++
			if e.Position != pos {
				t.Fatalf("gap: position %d after %d", e.Position, pos-1)
			}
			if e.Version != versions[e.Stream]+1 {
				t.Fatalf("stream %s: version %d after %d (position %d)", e.Stream, e.Version, versions[e.Stream], e.Position)
			}
			versions[e.Stream] = e.Version
			seen[e.ID]++
			if e.Stream != "crash-check" {
				key := e.ID[:strings.LastIndexByte(e.ID, '.')]
				appends[key] = append(appends[key], e.ID)
			}
		}
		if len(page) < 1000 {
			break
		}
	}
	if h, err := s.Head(ctx); err != nil || h != pos {
		t.Fatalf("head %d (%v), read %d events", h, err, pos)
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Fatalf("acknowledged event %s is in the log %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s is in the log %d times", id, n)
		}
	}
	for key, ids := range appends {
		want, _ := strconv.Atoi(ids[0][strings.LastIndexByte(ids[0], '-')+1:])
		if len(ids) != want {
			t.Fatalf("append %s is torn: %d of its %d events in the log: %v", key, len(ids), want, ids)
		}
	}
	// The store still takes appends after the crash.
	if _, err := s.Append(ctx, "crash-check", eventstore.Any(), eventstore.NewEvent{
		ID: fmt.Sprintf("check-%d", pos), Type: "crash.checked", SchemaVersion: 1, OccurredAt: time.Now(), Data: []byte(`{}`),
	}); err != nil {
		t.Fatalf("append after the crash: %v", err)
	}
	return int(pos)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
