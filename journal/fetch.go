package journal

import (
	"context"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"
)

// fetch fetches up to n messages, waiting at most wait, and returns at
// once when ctx ends (a fetch bound by a wait alone can outlive a closed
// connection). The returned cancel must be called once the batch is read.
func fetch(ctx context.Context, cons njs.Consumer, n int, wait time.Duration) (njs.MessageBatch, context.CancelFunc, error) {
	fctx, cancel := context.WithTimeout(ctx, wait)
	batch, err := cons.Fetch(n, njs.FetchContext(fctx))
	if err != nil {
		cancel()
		return nil, func() {}, err
	}
	return batch, cancel, nil
}
