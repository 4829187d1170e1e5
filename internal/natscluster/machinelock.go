package natscluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// One cluster at a time on the machine: the fault tests measure how long
// writes pause when a node dies (it must be under 15 s), and three
// clusters of three nodes each, started by the test binaries `go test
// ./...` runs in parallel, on two cores, stretch elections past what they
// measure. Start takes this machine-wide lock (flock on a file in the
// temporary dir) and Close releases it; the other packages' tests go on
// meanwhile.

// lockMachine waits for the machine's cluster lock.
func lockMachine(ctx context.Context) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "attestation-ledger-natscluster.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("natscluster: machine lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			return nil, fmt.Errorf("natscluster: machine lock: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("natscluster: waiting for another cluster to stop: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// unlockMachine releases it (closing the file drops the flock).
func unlockMachine(f *os.File) {
	if f != nil {
		_ = f.Close()
	}
}
