package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/internal/follow"
)

// LogTopic is the topic the projectors' handler subscribes to: the whole
// global log.
const LogTopic = "ledger.log"

// handlerName names the one watermill handler that applies every
// projector.
const handlerName = "projections"

// runControl lets Rebuild pause a running Run.
type runControl struct {
	pause chan *pauseRequest
	// done is closed when Run returns.
	done chan struct{}
}

// pauseRequest asks Run to stop projecting until resume is closed.
type pauseRequest struct {
	// paused is closed by Run once nothing is being applied.
	paused chan struct{}
	// resume is closed by the requester.
	resume chan struct{}
}

// deadLetterModeKey marks, in a message's context, the last attempt at a
// batch: events a projector cannot apply are then dead-lettered.
type deadLetterModeKey struct{}

// ConsumerName names the read models among the consumers of a log
// follower.
const ConsumerName = "projections"

// errRunning: Run (or the consumer) is already running.
var errRunning = errs.New(errs.Conflict, "projections: Run is already running")

// Run projects the log into the read models until ctx is done, then
// returns nil. It is Consumer on a log follower of its own (package
// internal/follow); the service shares one follower with the integrity log
// instead. If the store fails, Run follows again, with backoff. Run only
// once at a time.
func (r *ReadModels) Run(ctx context.Context) error {
	delay := r.cfg.RetryInitialInterval
	for {
		if ctx.Err() != nil {
			return nil
		}
		if r.closed.Load() {
			return ErrClosed
		}
		started := time.Now()
		err := follow.Run(ctx, r.cfg.Store, follow.Options{}, r.Consumer())
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errRunning) {
			return errRunning
		}
		r.recordFailure(err)
		r.cfg.Logger.Error("projections: projector stopped; restarting", "err", err, "in", delay)
		if time.Since(started) > r.cfg.RetryMaxInterval {
			delay = r.cfg.RetryInitialInterval
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
		delay = min(2*delay, r.cfg.RetryMaxInterval)
	}
}

// Consumer returns the live projector as a consumer of a log follower. Its
// checkpoint is the lowest projector checkpoint. Events flow through a
// watermill router: a Subscriber reads the follower's stream and one
// handler applies each batch to every projector in one SQLite
// transaction, each projector skipping what its checkpoint already covers
// and moving its checkpoint with its rows. A failing batch is retried with
// exponential backoff (Config.MaxRetries); then applied once more in
// dead-letter mode, where an event a projector cannot apply is recorded in
// dead_letters and skipped by that projector alone; a batch that still
// fails (the database fails) is delivered again, with backoff, until it
// succeeds: the projector stalls (and, through the follower's
// back-pressure, so does every consumer of the same follower) and Status
// reports it. Only one consumer (or Run) at a time.
func (r *ReadModels) Consumer() follow.Consumer { return liveConsumer{r} }

type liveConsumer struct{ r *ReadModels }

// Name implements follow.Consumer.
func (liveConsumer) Name() string { return ConsumerName }

// Checkpoint implements follow.Consumer.
func (c liveConsumer) Checkpoint(context.Context) (uint64, error) {
	return c.r.cur.Load().minCheckpoint(), nil
}

// Consume implements follow.Consumer: it projects in's events until ctx
// is done (nil), pausing while Rebuild swaps generations, or until the
// stream fails (its error).
func (c liveConsumer) Consume(ctx context.Context, in *follow.Stream) error {
	r := c.r
	ctl, err := r.startRun()
	if err != nil {
		return err
	}
	defer r.endRun(ctl)

	var wg sync.WaitGroup
	hctx, stopHead := context.WithCancel(ctx)
	wg.Go(func() { r.watchHead(hctx) })
	defer wg.Wait()
	defer stopHead()

	log := streamLog{in: in, store: r.cfg.Store}
	for {
		err := r.runRouter(ctx, ctl, log)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		// paused for a swap, and resumed: on with the new generation
	}
}

// startRun registers a running consumer, so that Rebuild can pause it.
func (r *ReadModels) startRun() (*runControl, error) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.run != nil {
		return nil, errRunning
	}
	r.run = &runControl{pause: make(chan *pauseRequest), done: make(chan struct{})}
	return r.run, nil
}

// endRun unregisters the running consumer.
func (r *ReadModels) endRun(ctl *runControl) {
	r.runMu.Lock()
	r.run = nil
	r.runMu.Unlock()
	close(ctl.done)
}

// streamLog reads the log from a follower's stream: a subscription skips
// what comes before its start (a generation swapped in is ahead of the
// stream); Head asks the store.
type streamLog struct {
	in    *follow.Stream
	store eventstore.Store
}

// Subscribe implements LogReader.
func (s streamLog) Subscribe(_ context.Context, from uint64) (eventstore.Subscription, error) {
	return &streamSub{in: s.in, from: from}, nil
}

// Head implements LogReader.
func (s streamLog) Head(ctx context.Context) (uint64, error) { return s.store.Head(ctx) }

// streamSub is a subscription to a follower's stream from a position.
type streamSub struct {
	in   *follow.Stream
	from uint64
}

// Next implements eventstore.Subscription.
func (s *streamSub) Next(ctx context.Context) (eventstore.Envelope, error) {
	for {
		env, err := s.in.Next(ctx)
		if err != nil || env.Position >= s.from {
			return env, err
		}
	}
}

// Close implements eventstore.Subscription: the stream goes on.
func (s *streamSub) Close() error { return nil }

// runRouter runs one watermill router on the current generation until ctx
// is done (ctx.Err()), a pause is requested (nil once resumed), or the
// subscription fails (its error).
func (r *ReadModels) runRouter(ctx context.Context, ctl *runControl, log LogReader) error {
	g := r.cur.Load()
	sub, err := NewSubscriber(SubscriberConfig{
		Store:              log,
		From:               func(context.Context) (uint64, error) { return g.minCheckpoint() + 1, nil },
		MaxBatch:           r.cfg.MaxBatch,
		BufferSize:         r.cfg.BufferSize,
		RedeliveryDelay:    r.cfg.RetryInitialInterval,
		MaxRedeliveryDelay: r.cfg.RetryMaxInterval,
		LiveBatchDelay:     r.cfg.LiveBatchDelay,
		LiveBatchMaxDelay:  r.cfg.LiveBatchMaxDelay,
		Trust:              r.cfg.trust(),
		Logger:             r.cfg.Logger,
	})
	if err != nil {
		return err
	}
	logger := watermill.NewSlogLoggerWithLevelMapping(r.cfg.Logger.With("component", "watermill"),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug, slog.LevelError: slog.LevelWarn})
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, logger)
	if err != nil {
		return fmt.Errorf("projections: new router: %w", err)
	}
	router.AddMiddleware(
		r.deadLetterMiddleware,
		middleware.Retry{
			MaxRetries:      r.cfg.MaxRetries,
			InitialInterval: r.cfg.RetryInitialInterval,
			MaxInterval:     r.cfg.RetryMaxInterval,
			Multiplier:      2,
			ShouldRetry: func(p middleware.RetryParams) bool {
				return !errors.Is(p.Err, context.Canceled)
			},
		}.Middleware,
	)
	router.AddConsumerHandler(handlerName, LogTopic, sub, r.handler(g, newApplier(g, r.cfg.CacheRows)))

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- router.Run(rctx) }()
	// A router closed while it is still starting its handlers waits its
	// whole CloseTimeout for them (seen after a follower failed at once, on
	// a full disk): let it start first.
	select {
	case <-router.Running():
	case err := <-done:
		if err == nil {
			err = ctx.Err()
		}
		return err
	}
	stop := func() {
		cancel()
		if err := router.Close(); err != nil {
			r.cfg.Logger.Warn("projections: close router", "err", err)
		}
		<-done
	}

	select {
	case <-ctx.Done():
		stop()
		return ctx.Err()
	case req := <-ctl.pause:
		stop()
		close(req.paused)
		select {
		case <-req.resume:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case err := <-done:
		_ = router.Close()
		if serr := sub.Err(); serr != nil {
			return serr
		}
		if err != nil {
			return fmt.Errorf("projections: router: %w", err)
		}
		return errors.New("projections: router stopped")
	}
}

// handler applies a message's batch to every projector of g.
func (r *ReadModels) handler(g *generation, a *applier) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		b, ok := BatchFromMessage(msg)
		if !ok {
			return fmt.Errorf("projections: message %s carries no batch", msg.UUID)
		}
		mode := strict
		if dl, _ := msg.Context().Value(deadLetterModeKey{}).(bool); dl {
			mode = deadLetter
		}
		res, err := a.apply(msg.Context(), b.Items, mode)
		if err != nil {
			if msg.Context().Err() == nil {
				r.recordFailure(err)
				r.cfg.Logger.Warn("projections: batch failed", "from", b.From(), "to", b.To(),
					"deadLetterMode", mode == deadLetter, "err", err)
			}
			return fmt.Errorf("apply events %d..%d: %w", b.From(), b.To(), err)
		}
		r.recordBatch(res)
		r.refreshGauges(g, 0)
		r.broadcast()
		return nil
	}
}

// deadLetterMiddleware gives a batch that failed after its retries one
// more pass in dead-letter mode.
func (r *ReadModels) deadLetterMiddleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil || msg.Context().Err() != nil {
			return out, err
		}
		if dl, _ := msg.Context().Value(deadLetterModeKey{}).(bool); dl {
			return out, err
		}
		msg.SetContext(context.WithValue(msg.Context(), deadLetterModeKey{}, true))
		return h(msg)
	}
}

// watchHead refreshes the lag gauges from the store's head until ctx is
// done.
func (r *ReadModels) watchHead(ctx context.Context) {
	t := time.NewTicker(r.cfg.HeadInterval)
	defer t.Stop()
	for {
		if head, err := r.cfg.Store.Head(ctx); err == nil {
			r.refreshGauges(r.cur.Load(), head)
		} else if ctx.Err() == nil {
			r.cfg.Logger.Warn("projections: read the store head", "err", err)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// pauseLive stops a running Run from applying events and returns the
// function that resumes it; without a running Run both are no-ops.
func (r *ReadModels) pauseLive(ctx context.Context) (resume func(), err error) {
	r.runMu.Lock()
	ctl := r.run
	r.runMu.Unlock()
	if ctl == nil {
		return func() {}, nil
	}
	req := &pauseRequest{paused: make(chan struct{}), resume: make(chan struct{})}
	var once sync.Once
	resume = func() { once.Do(func() { close(req.resume) }) }
	select {
	case ctl.pause <- req:
	case <-ctl.done:
		return func() {}, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("pause the projector: %w", ctx.Err())
	}
	select {
	case <-req.paused:
		return resume, nil
	case <-ctx.Done():
		resume()
		return nil, fmt.Errorf("pause the projector: %w", ctx.Err())
	}
}
