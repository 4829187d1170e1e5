package dirlock_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/internal/dirlock"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// TestMain lets the test binary act as a second process that holds a lock
// until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("DIRLOCK_HOLD"); dir != "" {
		if _, err := dirlock.Acquire(dir); err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		fmt.Println("held")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holdInChild starts a process that holds dir, and returns it once it does.
func holdInChild(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DIRLOCK_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if got := strings.TrimSpace(string(buf[:n])); got != "held" {
		t.Fatalf("child said %q", got)
	}
	return cmd
}

func TestSecondProcessIsRefusedWithTheHoldersPID(t *testing.T) {
	dir := t.TempDir()
	child := holdInChild(t, dir)
	_, err := dirlock.Acquire(dir)
	if !errors.Is(err, dirlock.ErrInUse) || errs.KindOf(err) != errs.Conflict {
		t.Fatalf("Acquire = %v, want ErrInUse", err)
	}
	want := fmt.Sprintf("data dir %s is in use by process %d", dir, child.Process.Pid)
	if err.Error() != want {
		t.Fatalf("error %q, want exactly %q", err, want)
	}
}

func TestKilledHolderReleasesTheLock(t *testing.T) {
	dir := t.TempDir()
	child := holdInChild(t, dir)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	l, err := dirlock.Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	defer l.Release()
	b, err := os.ReadFile(filepath.Join(dir, dirlock.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q, want this pid", b)
	}
}

func TestReleaseLetsAnotherTake(t *testing.T) {
	dir := t.TempDir()
	l, err := dirlock.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Within one process too, a second open file description is refused.
	if _, err := dirlock.Acquire(dir); !errors.Is(err, dirlock.ErrInUse) {
		t.Fatalf("second Acquire = %v, want ErrInUse", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	l2, err := dirlock.Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

func TestMissingDirIsAnError(t *testing.T) {
	if _, err := dirlock.Acquire(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("Acquire of a missing dir succeeded")
	}
}
