package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Prometheus metrics of the projectors.
//
// WARNING: metric and label names are a contract with dashboards and
// alerts; never rename one.
type metrics struct {
	lag         *prometheus.GaugeVec
	checkpoint  *prometheus.GaugeVec
	applied     *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "ledger", Subsystem: "projection", Name: "lag_events",
			Help: "Events recorded in the log that the projector has not applied yet (store head minus checkpoint).",
		}, []string{"projector"}),
		checkpoint: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "ledger", Subsystem: "projection", Name: "checkpoint_position",
			Help: "Position of the last event the projector has applied.",
		}, []string{"projector"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ledger", Subsystem: "projection", Name: "events_applied_total",
			Help: "Events the running projector has applied (committed with its checkpoint).",
		}, []string{"projector"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ledger", Subsystem: "projection", Name: "dead_letters_total",
			Help: "Events the running projector could not apply after retries and recorded as dead letters.",
		}, []string{"projector"}),
	}
	for _, name := range projectorNames {
		m.lag.WithLabelValues(name)
		m.checkpoint.WithLabelValues(name)
		m.applied.WithLabelValues(name)
		m.deadLetters.WithLabelValues(name)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.lag, m.checkpoint, m.applied, m.deadLetters} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register projection metrics: %w", err)
			}
		}
	}
	return m, nil
}

// stats are the per-projector figures of the running process.
type stats struct {
	mu   sync.Mutex
	head uint64
	by   map[string]*projectorStats
}

type projectorStats struct {
	applied     uint64
	lastErr     string
	lastErrAt   time.Time
	failing     bool
	deadLetters uint64
}

func newStats() *stats {
	s := &stats{by: map[string]*projectorStats{}}
	for _, n := range projectorNames {
		s.by[n] = &projectorStats{}
	}
	return s
}

// ProjectorStatus is the state of one projector, for /readyz and
// operators.
type ProjectorStatus struct {
	// Name is the projector's name (see the Projector constants).
	Name string `json:"name"`
	// Position is the projector's checkpoint: the last event applied.
	Position uint64 `json:"position"`
	// Head is the position of the last event in the store.
	Head uint64 `json:"head"`
	// Lag is Head - Position.
	Lag uint64 `json:"lag"`
	// Applied counts the events applied since the process started.
	Applied uint64 `json:"applied"`
	// DeadLetters counts the events this projector could not apply and
	// recorded in dead_letters, in the current read models.
	DeadLetters int64 `json:"deadLetters"`
	// Failing is true while the projector's current batch fails (it is
	// being retried): the projector is stalled.
	Failing bool `json:"failing"`
	// LastError is the last error of the projector, "" if none.
	LastError string `json:"lastError,omitempty"`
	// LastErrorAt is when LastError happened.
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
}

// Status returns the state of every projector, reading the store's head.
func (r *ReadModels) Status(ctx context.Context) ([]ProjectorStatus, error) {
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("projection status: %w", err)
	}
	g := r.cur.Load()
	r.refreshGauges(g, head)
	r.stats.mu.Lock()
	defer r.stats.mu.Unlock()
	out := make([]ProjectorStatus, 0, len(projectorNames))
	for _, name := range projectorNames {
		cp := g.checkpoint(name)
		st := r.stats.by[name]
		out = append(out, ProjectorStatus{
			Name: name, Position: cp, Head: head, Lag: lag(head, cp), Applied: st.applied,
			DeadLetters: g.deadLetterCount(name), Failing: st.failing,
			LastError: st.lastErr, LastErrorAt: st.lastErrAt,
		})
	}
	return out, nil
}

func lag(head, cp uint64) uint64 {
	if head > cp {
		return head - cp
	}
	return 0
}

// refreshGauges sets the checkpoint and lag gauges; a head of 0 keeps the
// last head known.
func (r *ReadModels) refreshGauges(g *generation, head uint64) {
	r.stats.mu.Lock()
	if head > r.stats.head {
		r.stats.head = head
	}
	head = r.stats.head
	r.stats.mu.Unlock()
	for _, name := range projectorNames {
		cp := g.checkpoint(name)
		r.metrics.checkpoint.WithLabelValues(name).Set(float64(cp))
		r.metrics.lag.WithLabelValues(name).Set(float64(lag(max(head, cp), cp)))
	}
}

// recordBatch counts a committed batch of the live projector.
func (r *ReadModels) recordBatch(res batchResult) {
	r.stats.mu.Lock()
	for _, name := range projectorNames {
		st := r.stats.by[name]
		st.applied += uint64(res.applied[name])
		st.deadLetters += uint64(res.deadLettered[name])
		st.failing = false
		r.metrics.applied.WithLabelValues(name).Add(float64(res.applied[name]))
		r.metrics.deadLetters.WithLabelValues(name).Add(float64(res.deadLettered[name]))
	}
	for _, f := range res.failures {
		st := r.stats.by[f.Projector]
		st.lastErr, st.lastErrAt = "dead-lettered: "+f.Error(), time.Now().UTC()
	}
	r.stats.mu.Unlock()
	for _, f := range res.failures {
		r.cfg.Logger.Error("projections: event dead-lettered", "projector", f.Projector,
			"position", f.Position, "type", f.Type, "err", f.Err)
	}
}

// recordFailure notes a failed attempt at a batch of the live projector:
// the failing projector's (or, for a storage error, every projector's)
// last error.
func (r *ReadModels) recordFailure(err error) {
	var ev *EventError
	names := projectorNames
	if errors.As(err, &ev) && !isStorage(err) {
		names = []string{ev.Projector}
	}
	now := time.Now().UTC()
	r.stats.mu.Lock()
	for _, name := range names {
		st := r.stats.by[name]
		st.lastErr, st.lastErrAt, st.failing = err.Error(), now, true
	}
	r.stats.mu.Unlock()
}

// Ready reports whether the read models can serve queries: open, no
// projector stalled on a failing batch, and every projector within
// Config.ReadyMaxLag events of the store's head. For /readyz.
func (r *ReadModels) Ready(ctx context.Context) error {
	if r.closed.Load() {
		return ErrClosed
	}
	st, err := r.Status(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range st {
		switch {
		case s.Failing:
			errs = append(errs, fmt.Errorf("projector %s is stalled at %d: %s", s.Name, s.Position, s.LastError))
		case s.Lag > r.cfg.ReadyMaxLag:
			errs = append(errs, fmt.Errorf("projector %s is %d events behind (at most %d)", s.Name, s.Lag, r.cfg.ReadyMaxLag))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("read models not ready: %w", err)
	}
	return nil
}
