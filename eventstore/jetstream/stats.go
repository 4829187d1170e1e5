package jetstream

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Stats are counters of the group commit since the store was opened.
type Stats struct {
	// Appends and Events count the appends committed and their events.
	Appends, Events uint64
	// Publishes counts the atomic batches (or single messages) sent to
	// the server, committed or not.
	Publishes uint64
	// Splits counts batches the server refused whole and that were split
	// to isolate the appends it refused.
	Splits uint64
	// PrecheckConflicts counts appends refused with
	// eventstore.ErrConcurrency from the cached stream version, without
	// asking the server.
	PrecheckConflicts uint64
}

type stats struct {
	appends, events, publishes, splits, precheckConflicts atomic.Uint64
}

// Stats returns the group commit's counters.
func (s *Store) Stats() Stats {
	c := &s.commit.stats
	return Stats{
		Appends:           c.appends.Load(),
		Events:            c.events.Load(),
		Publishes:         c.publishes.Load(),
		Splits:            c.splits.Load(),
		PrecheckConflicts: c.precheckConflicts.Load(),
	}
}

// ClientURL returns the URL other processes can reach the embedded server
// at when Config.Listen is set, and "" otherwise.
func (s *Store) ClientURL() string {
	if s.ns == nil || s.cfg.Listen == "" {
		return ""
	}
	return s.ns.ClientURL()
}

// StreamLeader returns the server name of the ledger stream's current
// leader (on a cluster; the one server otherwise).
func (s *Store) StreamLeader(ctx context.Context) (string, error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("ledger stream info: %w", translate(err))
	}
	if info.Cluster == nil {
		return "", nil
	}
	return info.Cluster.Leader, nil
}
