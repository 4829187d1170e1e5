package integrity

import (
	"context"
	"fmt"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// CheckStore is the start-up check, to run before serving: it compares
// the event store with the verifiable log and fails with ErrStoreMismatch,
// naming both, if the store's head is below the latest signed checkpoint
// (the store was emptied, or replaced by a younger one) or if its events do
// not reproduce the tree and the checkpoints (it was replaced or
// rewritten). It runs the self-audit (see SelfAudit) to tell; an audit that
// cannot finish fails too, as nothing was shown.
func (l *Log) CheckStore(ctx context.Context, store eventstore.Store) error {
	latest, ok := l.Latest()
	head, err := store.Head(ctx)
	if err != nil {
		return fmt.Errorf("start-up check of the event store: %w", err)
	}
	if ok && int64(head) < latest.Size {
		return fmt.Errorf("%w: the event store ends at position %d, but the latest signed checkpoint covers %d events (root %s): the store was emptied or replaced; refusing to serve it",
			ErrStoreMismatch, head, latest.Size, latest.Root)
	}
	res := l.SelfAudit(ctx, store)
	if err := res.Err(); err != nil {
		size, root := l.Size()
		return fmt.Errorf("%w: the event store (head %d) does not reproduce the verifiable log (tree of %d events, root %s; latest checkpoint %d, root %s); refusing to serve it: %w",
			ErrStoreMismatch, head, size, root, latest.Size, latest.Root, err)
	}
	return nil
}
