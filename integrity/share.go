package integrity

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// followRetry is how long the checkpoint follower waits after failing to
// read the shared store.
const followRetry = time.Second

// startSharing starts, with a shared store, what keeps this instance in
// the deployment while it consumes the log: following the checkpoints the
// others publish, and renewing (or taking) the publisher lease every third
// of its ttl. The returned stop ends them and waits.
func (l *Log) startSharing(ctx context.Context) (stop func()) {
	if l.file != nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { l.followCheckpoints(ctx) })
	if l.cfg.Lease != nil {
		wg.Go(func() { l.keepLease(ctx) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// followCheckpoints adds to the list what other instances publish, as it
// is published, until ctx is done or an integrity alarm is raised.
func (l *Log) followCheckpoints(ctx context.Context) {
	for ctx.Err() == nil {
		l.mu.RLock()
		seq, alarm := uint64(len(l.list.notes)), l.alarm
		l.mu.RUnlock()
		if alarm != nil {
			return // the list is withdrawn from there on; Checkpoint says why
		}
		if err := l.store.Wait(ctx, seq); err != nil {
			l.pause(ctx, followRetry) // ctx done, or a store breaking its word
			continue
		}
		l.pubMu.Lock()
		err := l.refreshLocked(ctx, true, true)
		l.pubMu.Unlock()
		if err == nil {
			err = l.checkCovered()
		}
		if err != nil && ctx.Err() == nil {
			l.log.Warn("integrity: cannot follow the shared checkpoints", "err", err)
			l.pause(ctx, followRetry)
		}
	}
}

// pause waits d or until ctx is done.
func (l *Log) pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// keepLease renews the publisher lease (or takes it when free) every
// third of its ttl, until ctx is done.
func (l *Log) keepLease(ctx context.Context) {
	t := time.NewTicker(l.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.renewLease(ctx)
		}
	}
}

// awaitTree waits, when the tree is smaller than size but a published
// checkpoint covers size (another instance published it), until the tree
// reaches it, at most Config.TreeWait (else ErrTreeBehind), and checks the
// checkpoints it then covers. Sizes beyond every checkpoint are left for
// the proofs to refuse.
func (l *Log) awaitTree(ctx context.Context, size int64) error {
	latest, ok := l.Latest()
	if n, _ := l.Size(); n >= size || !ok || size > latest.Size {
		return l.checkCovered()
	}
	ctx, cancel := context.WithTimeout(ctx, l.cfg.TreeWait)
	defer cancel()
	for {
		l.mu.RLock()
		grown := l.grown
		l.mu.RUnlock()
		n, _ := l.Size()
		if n >= size {
			return l.checkCovered()
		}
		select {
		case <-grown:
		case <-ctx.Done():
			return fmt.Errorf("%w: the tree has %d leaves, the checkpoint %d", ErrTreeBehind, n, size)
		}
	}
}
