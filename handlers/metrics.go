package handlers

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// metrics are the command handlers' Prometheus metrics.
type metrics struct {
	appendSeconds prometheus.Histogram
	conflicts     prometheus.Counter
	appendErrors  prometheus.Counter
	indexFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ledger_append_seconds",
			Help:    "Latency of durable event appends by the command handlers.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledger_append_conflicts_total",
			Help: "Appends refused for a stale expected version (then decided again).",
		}),
		appendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledger_append_errors_total",
			Help: "Appends that failed for another reason than a conflict.",
		}),
		indexFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledger_attestation_index_failures_total",
			Help: "Issued attestations whose number could not be indexed (the read models answer for them).",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.appendSeconds, m.conflicts, m.appendErrors, m.indexFailures} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register handler metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) observeAppend(d time.Duration, err error) {
	switch {
	case err == nil:
		m.appendSeconds.Observe(d.Seconds())
	case errors.Is(err, eventstore.ErrConcurrency):
		m.conflicts.Inc()
	default:
		m.appendErrors.Inc()
	}
}
