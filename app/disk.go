package app

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// minFreeBytes is the free space under which the data dir's disk is
// reported full: the service is not ready (every write would fail), and
// says so rather than stopping.
const minFreeBytes = 16 << 20

// diskFull reports whether err is a write refused for want of space.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// checkDisk returns an Unavailable error when the data dir's file system
// has less than minFreeBytes free for the service's user.
func checkDisk(dir string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil // unknown: the writes themselves will tell
	}
	free := uint64(st.Bavail) * uint64(st.Bsize)
	if free < minFreeBytes {
		return errs.Wrap(errs.Unavailable, fmt.Errorf("the data dir's disk is full: %d bytes free (at least %d needed); free space and the service resumes", free, minFreeBytes))
	}
	return nil
}
