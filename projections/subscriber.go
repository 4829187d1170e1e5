package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Batch is consecutive events of the global log, delivered in one
// watermill message.
type Batch struct {
	// Items are in log order, without gaps.
	Items []Item
}

// From returns the position of the batch's first event.
func (b *Batch) From() uint64 { return b.Items[0].Envelope.Position }

// To returns the position of the batch's last event.
func (b *Batch) To() uint64 { return b.Items[len(b.Items)-1].Envelope.Position }

// batchKey is the message-context key of a message's batch.
type batchKey struct{}

// BatchFromMessage returns the batch a Subscriber message carries.
func BatchFromMessage(msg *message.Message) (*Batch, bool) {
	b, ok := msg.Context().Value(batchKey{}).(*Batch)
	return b, ok && b != nil && len(b.Items) > 0
}

// Metadata keys of the messages of a Subscriber.
const (
	MetadataFrom = "from"
	MetadataTo   = "to"
)

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// Store is required: the log to read (an eventstore.Store, or a log
	// follower's stream).
	Store LogReader
	// From is required: it returns the position to start from when
	// Subscribe is called (a projector's checkpoint + 1).
	From func(ctx context.Context) (uint64, error)
	// MaxBatch is optional: the most events in one message (default 2048).
	MaxBatch int
	// BufferSize is optional: how many decoded events are read ahead
	// (default 4 × MaxBatch).
	BufferSize int
	// RedeliveryDelay is optional: the first wait before a nacked batch is
	// delivered again; it doubles up to MaxRedeliveryDelay (default 50 ms).
	RedeliveryDelay time.Duration
	// MaxRedeliveryDelay is optional (default 5 s).
	MaxRedeliveryDelay time.Duration
	// LiveBatchDelay is optional: once caught up, how long a batch waits
	// for more events after its first (0, the default: none).
	LiveBatchDelay time.Duration
	// LiveBatchMaxDelay is optional: how long that wait may grow while
	// events pour in (default: LiveBatchDelay, no growth).
	LiveBatchMaxDelay time.Duration
	// Trust is optional: it tells the events the command side wrote (nil)
	// from the others, which no read model uses. Nil trusts every event.
	Trust func(eventstore.Envelope) error
	// Logger is optional; slog.Default() when nil.
	Logger *slog.Logger
}

func (c *SubscriberConfig) setDefaults() {
	if c.MaxBatch == 0 {
		c.MaxBatch = 2048
	}
	if c.BufferSize == 0 {
		c.BufferSize = 4 * c.MaxBatch
	}
	if c.RedeliveryDelay == 0 {
		c.RedeliveryDelay = 50 * time.Millisecond
	}
	if c.MaxRedeliveryDelay == 0 {
		c.MaxRedeliveryDelay = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem of the configuration at once.
func (c SubscriberConfig) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("field Store is required"))
	}
	if c.From == nil {
		errs = append(errs, errors.New("field From is required"))
	}
	if c.MaxBatch < 0 || c.BufferSize < 0 {
		errs = append(errs, errors.New("fields MaxBatch and BufferSize must not be negative"))
	}
	if c.RedeliveryDelay < 0 || c.MaxRedeliveryDelay < 0 {
		errs = append(errs, errors.New("redelivery delays must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("subscriber config: %w", err)
	}
	return nil
}

// Subscriber is a watermill message.Subscriber of the global event log. It
// reads the log in order from the position SubscriberConfig.From gives,
// through its Store's Subscribe, and delivers it as messages that each
// carry a Batch of consecutive decoded events (in the message context; see
// BatchFromMessage; metadata "from" and "to" give the positions; the
// payload is empty). It delivers one message at a time: the next batch
// only once the message is acked, the same batch again after a delay when
// it is nacked. The topic names nothing: there is one log.
//
// Batches are as large as what has already arrived (up to MaxBatch), so a
// projector that keeps up gets events one at a time without waiting, and
// one catching up gets full batches.
type Subscriber struct {
	cfg SubscriberConfig

	mu      sync.Mutex
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup
	err     error
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a Subscriber.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Subscriber{cfg: cfg, closing: make(chan struct{})}, nil
}

// Subscribe implements message.Subscriber.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("subscribe: subscriber closed")
	}
	from, err := s.cfg.From(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: start position: %w", topic, err)
	}
	f, err := startFeed(ctx, s.cfg.Store, from, s.cfg.BufferSize, s.cfg.LiveBatchDelay, s.cfg.LiveBatchMaxDelay, s.cfg.Trust)
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", topic, err)
	}
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer f.close()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-s.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		if err := s.deliver(ctx, f, out); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("projections: log subscription ended", "err", err)
			s.setErr(err)
		}
	}()
	return out, nil
}

// deliver sends the feed's batches one message at a time.
func (s *Subscriber) deliver(ctx context.Context, f *feed, out chan<- *message.Message) error {
	for {
		items, err := f.next(ctx, s.cfg.MaxBatch)
		if err != nil {
			return err
		}
		b := &Batch{Items: items}
		delay := s.cfg.RedeliveryDelay
		for acked := false; !acked; {
			from, to := strconv.FormatUint(b.From(), 10), strconv.FormatUint(b.To(), 10)
			msg := message.NewMessageWithContext(context.WithValue(ctx, batchKey{}, b), "log-"+from+"-"+to, nil)
			msg.Metadata.Set(MetadataFrom, from)
			msg.Metadata.Set(MetadataTo, to)
			select {
			case out <- msg:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case <-msg.Acked():
				acked = true
			case <-msg.Nacked():
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				}
				delay = min(2*delay, s.cfg.MaxRedeliveryDelay)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

func (s *Subscriber) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// Err returns why a subscription ended on its own (the store failed or
// was closed), or nil.
func (s *Subscriber) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close implements message.Subscriber: it ends every subscription and
// waits for their goroutines.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
