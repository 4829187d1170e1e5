package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Subscribe implements eventstore.Store with an ordered consumer: the
// client checks every delivery's sequence and recreates the consumer from
// the last one it delivered after any gap, so deliveries have no gaps and
// no duplicates.
func (s *Store) Subscribe(ctx context.Context, from uint64) (eventstore.Subscription, error) {
	if err := s.ready(ctx); err != nil {
		return nil, fmt.Errorf("subscribe from %d: %w", from, err)
	}
	cfg := njs.OrderedConsumerConfig{DeliverPolicy: njs.DeliverAllPolicy}
	if from > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = njs.DeliverByStartSequencePolicy, from
	}
	rctx, cancel := s.requestContext(ctx)
	defer cancel()
	cons, err := s.stream.OrderedConsumer(rctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("subscribe from %d: %w", from, s.fail(ctx, err))
	}
	it, err := cons.Messages(njs.PullMaxMessages(subscriptionBuffer))
	if err != nil {
		return nil, fmt.Errorf("subscribe from %d: %w", from, s.fail(ctx, err))
	}
	sub := &subscription{store: s, it: it}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		it.Stop()
		return nil, fmt.Errorf("subscribe from %d: %w", from, eventstore.ErrClosed)
	}
	s.subs[sub] = struct{}{}
	return sub, nil
}

// subscriptionBuffer is how many messages a subscription asks the server
// for at a time.
const subscriptionBuffer = 2048

type subscription struct {
	store    *Store
	it       njs.MessagesContext
	stopOnce sync.Once
}

// Next implements eventstore.Subscription.
func (sub *subscription) Next(ctx context.Context) (eventstore.Envelope, error) {
	msg, err := sub.it.Next(njs.NextContext(ctx))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return eventstore.Envelope{}, fmt.Errorf("next event: %w", ctxErr)
		}
		if errors.Is(err, njs.ErrMsgIteratorClosed) || sub.store.isClosed() {
			return eventstore.Envelope{}, fmt.Errorf("next event: %w: %w", eventstore.ErrClosed, err)
		}
		return eventstore.Envelope{}, fmt.Errorf("next event: %w", translate(err))
	}
	meta, err := msg.Metadata()
	if err != nil {
		return eventstore.Envelope{}, fmt.Errorf("next event: %w", err)
	}
	if err := sub.store.guard.err(); err != nil {
		// From a stream that is not the ledger's, or not yet known to be.
		return eventstore.Envelope{}, fmt.Errorf("next event: %w", err)
	}
	env, err := decode(msg.Subject(), meta.Sequence.Stream, msg.Headers(), msg.Data())
	if err != nil {
		return eventstore.Envelope{}, fmt.Errorf("next event: %w", err)
	}
	sub.store.guard.observe(env.Position)
	return env, nil
}

// Close implements eventstore.Subscription.
func (sub *subscription) Close() error {
	sub.stop()
	sub.store.mu.Lock()
	delete(sub.store.subs, sub)
	sub.store.mu.Unlock()
	return nil
}

func (sub *subscription) stop() {
	sub.stopOnce.Do(sub.it.Stop)
}
