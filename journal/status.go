package journal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Status is the journal's state on this instance, for /readyz and the
// metrics.
type Status struct {
	// Queued is how many entries wait in memory for the journal stream.
	Queued int `json:"queued"`
	// Spilled is how many entries wait in the spill file.
	Spilled int64 `json:"spilled"`
	// Published counts the entries this instance put into the stream.
	Published uint64 `json:"published"`
	// Dropped counts the entries lost: the memory queue was full and the
	// spill file could not be written (each loss is itself journaled).
	Dropped uint64 `json:"dropped"`
	// PublishError is the last failure to publish, empty once publishing
	// works again.
	PublishError string `json:"publishError,omitempty"`
	// TreeSize is the journal tree's size; CheckpointSize the latest
	// signed checkpoint's.
	TreeSize       int64 `json:"treeSize"`
	CheckpointSize int64 `json:"checkpointSize"`
	// TreeError is why the tree does not follow the stream, if so.
	TreeError string `json:"treeError,omitempty"`
	// Syslog is the shipper's state, nil without a collector.
	Syslog *ShipperStatus `json:"syslog,omitempty"`
}

// Status returns the journal's state.
func (j *Journal) Status() Status {
	var st Status
	st.Queued, st.Spilled, st.PublishError = j.w.status()
	st.Published, st.Dropped = j.w.sent.Load(), j.w.dropped.Load()
	st.TreeSize, _ = j.tree.Size()
	if cp, ok := j.tree.Latest(); ok {
		st.CheckpointSize = cp.Size
	}
	j.mu.Lock()
	if j.treeErr != nil {
		st.TreeError = j.treeErr.Error()
	}
	j.mu.Unlock()
	if j.ship != nil {
		s := j.ship.status()
		st.Syslog = &s
	}
	return st
}

// ErrNotReady: the journal does not record, prove or ship as it should.
var ErrNotReady = errs.New(errs.Unavailable, "security journal not ready")

// Ready reports (for /readyz) what keeps the journal from doing its job:
// entries that cannot be published (they wait in memory or on disk), entries lost,
// a tree that stopped following the stream, or a collector unreachable
// with entries waiting for longer than the shipper's grace. None of these
// loses an entry already recorded, but each needs an operator.
func (j *Journal) Ready(_ context.Context) error {
	st := j.Status()
	var es []error
	if st.PublishError != "" {
		es = append(es, fmt.Errorf("entries cannot be published (%d queued, %d spilled): %s", st.Queued, st.Spilled, st.PublishError))
	}
	if st.Dropped > 0 {
		es = append(es, fmt.Errorf("%d entries were lost", st.Dropped))
	}
	if st.TreeError != "" {
		es = append(es, fmt.Errorf("tree: %s", st.TreeError))
	}
	if s := st.Syslog; s != nil && !s.DownSince.IsZero() && s.Backlog > 0 && time.Since(s.DownSince) > j.ship.cfg.Grace {
		es = append(es, fmt.Errorf("syslog collector %s unreachable since %s, %d entries waiting: %s",
			s.Addr, s.DownSince.UTC().Format(time.RFC3339), s.Backlog, s.LastError))
	}
	if len(es) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrNotReady, errors.Join(es...))
}
