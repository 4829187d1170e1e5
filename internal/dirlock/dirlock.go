// Package dirlock gives one process at a time a directory: the ledger's
// data dir holds an embedded JetStream store, read models and a verifiable
// log that two processes would corrupt by writing at once.
//
// The lock is an exclusive flock(2) on a file in the directory, so the
// kernel releases it when the process ends, however it ends (kill -9
// included): a stale lock file never blocks a restart. The holder's pid is
// written in the file so that the refusal can name it.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// FileName is the lock file's name inside the directory.
//
// WARNING: older and newer versions must agree on it; never rename it.
const FileName = "LOCK"

// ErrInUse: another process holds the directory.
var ErrInUse = errs.New(errs.Conflict, "directory in use")

// inUseError says who holds the directory; it matches ErrInUse.
type inUseError struct{ dir, pid string }

func (e *inUseError) Error() string {
	return "data dir " + e.dir + " is in use by process " + e.pid
}

// Is makes the error match ErrInUse.
func (e *inUseError) Is(target error) bool { return target == ErrInUse }

// ErrorKind is ErrInUse's kind.
func (e *inUseError) ErrorKind() string { return string(errs.Conflict) }

// Lock is a held directory lock.
type Lock struct {
	f *os.File
}

// Acquire locks dir (which must exist) for this process, or fails at once
// with an error matching ErrInUse that reads "data dir D is in use by
// process PID".
func Acquire(dir string) (*Lock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir %s: %w", abs, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &inUseError{dir: abs, pid: holder(f)}
		}
		return nil, fmt.Errorf("lock data dir %s: %w", abs, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// holder reads the pid the holder wrote, or says it is unknown.
func holder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	if pid := strings.TrimSpace(string(b[:n])); pid != "" {
		if _, err := strconv.Atoi(pid); err == nil {
			return pid
		}
	}
	return "(unknown pid)"
}

// Release gives the directory up. It is safe to call more than once.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	_ = f.Truncate(0)
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return f.Close()
}
