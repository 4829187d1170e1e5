package jetstream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// errConnectionLost ends the requests in flight when the connection to
// NATS drops: their answers, if any, went to a connection that is gone.
var errConnectionLost = fmt.Errorf("%w: the connection to NATS was lost with the request in flight", eventstore.ErrUnavailable)

// epoch is the life of one connection to NATS: a context that ends when
// the connection drops (and a new one begins). The group commit sends each
// batch under the current epoch, so that a batch whose acknowledgement was
// lost with the connection fails at once ("outcome unknown": the caller
// retries with the same event ids), instead of holding the group commit
// for the whole request timeout while the client reconnects to another
// node in a fraction of a second.
type epoch struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func newEpoch() *epoch {
	e := &epoch{}
	e.ctx, e.cancel = context.WithCancelCause(context.Background())
	return e
}

// current is the context of the current connection.
func (e *epoch) current() context.Context {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ctx
}

// lost ends the current epoch and begins the next.
func (e *epoch) lost() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cancel(errConnectionLost)
	e.ctx, e.cancel = context.WithCancelCause(context.Background())
}

// stop ends the epoch for good (the store closes).
func (e *epoch) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cancel(eventstore.ErrClosed)
}

// requestContext bounds one request of the group commit: the request
// timeout, and the current connection.
func (e *epoch) requestContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(e.current(), timeout)
}

// failure is the error of a request that ended with ctx: why ctx ended if
// it did (the connection lost, the store closed), else err.
func failure(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled && cause != context.DeadlineExceeded {
		return cause
	}
	return err
}
