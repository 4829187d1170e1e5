package projections

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// readItems reads and decodes events from..to of the log.
func readItems(t *testing.T, store eventstore.Store, from, to uint64) []Item {
	t.Helper()
	envs, err := store.ReadAll(t.Context(), from, int(to-from+1))
	if err != nil {
		t.Fatal(err)
	}
	items := make([]Item, len(envs))
	for i, env := range envs {
		items[i].Envelope = env
		items[i].Event, items[i].Err = Decode(env)
	}
	return items
}

// A redelivered event, alone or inside a batch that overlaps what was
// applied, is applied once: the rows come out as from a single delivery.
func TestRedeliveryAppliesOnce(t *testing.T) {
	store := newTestStore(t)
	newHistory(t, store, 2).run(t.Context(), 60)
	head, _ := store.Head(t.Context())

	once := openRM(t, t.TempDir(), store, nil)
	if _, err := newApplier(once.cur.Load(), 1000).apply(t.Context(), readItems(t, store, 1, head), strict); err != nil {
		t.Fatal(err)
	}

	rm := openRM(t, t.TempDir(), store, nil)
	a := newApplier(rm.cur.Load(), 10)
	mid := head / 2
	for _, d := range []struct {
		from, to, fresh uint64
	}{
		{1, mid, mid}, {1, mid, 0}, {mid, mid, 0}, {mid / 2, head, head - mid}, {head, head, 0}, {1, head, 0},
	} {
		res, err := a.apply(t.Context(), readItems(t, store, d.from, d.to), strict)
		if err != nil {
			t.Fatalf("apply %d..%d: %v", d.from, d.to, err)
		}
		for _, name := range projectorNames {
			if got := uint64(res.applied[name]); got != d.fresh {
				t.Errorf("deliver %d..%d: %s applied %d events, want %d", d.from, d.to, name, got, d.fresh)
			}
		}
	}
	assertSameRows(t, dump(t, once.cur.Load().r), dump(t, rm.cur.Load().r))
}

// After a restart on the same files, the projector resumes from its
// checkpoints: it applies only the events recorded since, not the whole
// log again.
func TestResumeFromCheckpointAfterRestart(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 3)
	h.run(t.Context(), 150)
	dir := t.TempDir()

	rm := openRM(t, dir, store, nil)
	stop := runRM(t, rm)
	first := waitHead(t, rm, store)
	stop()
	if err := rm.Close(); err != nil {
		t.Fatal(err)
	}

	h.run(t.Context(), 50)
	reg := prometheus.NewRegistry()
	rm = openRM(t, dir, store, func(c *Config) { c.Registerer = reg })
	if got := rm.Position(); got != first {
		t.Fatalf("reopened at position %d, want the checkpoint %d", got, first)
	}
	runRM(t, rm)
	second := waitHead(t, rm, store)
	st, err := rm.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Applied != second-first || s.Position != second || s.Lag != 0 || s.DeadLetters != 0 || s.Failing {
			t.Errorf("%s: %+v, want %d events applied (%d..%d), none replayed", s.Name, s, second-first, first+1, second)
		}
		if got := testutil.ToFloat64(rm.metrics.applied.WithLabelValues(s.Name)); got != float64(second-first) {
			t.Errorf("%s: events applied counter %v, want %d", s.Name, got, second-first)
		}
	}
	n, err := testutil.GatherAndCount(reg, "ledger_projection_lag_events", "ledger_projection_events_applied_total",
		"ledger_projection_dead_letters_total", "ledger_projection_checkpoint_position")
	if err != nil || n != 4*len(projectorNames) {
		t.Errorf("registered metrics: %d series, %v", n, err)
	}
	if err := rm.Ready(t.Context()); err != nil {
		t.Errorf("ready: %v", err)
	}
}

// An event a projector cannot apply is retried, then dead-lettered for
// that projector only; the others apply it and every projector goes on
// with the next events.
func TestPoisonEventIsDeadLettered(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 4)
	h.run(t.Context(), 40)
	// Poison events in a stream of their own (the aggregates' streams go
	// on with expected versions).
	const stream = "company-000000000"
	// A grant of an attestation that was never issued: the attestations
	// and reports projectors cannot apply it; the others do not use it.
	unknown := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{9, 9, 9})
	grant := appendRaw(t, store, stream, "poison-1", domain.TypeLoanGranted, 1,
		`{"number":"`+unknown.String()+`","grantedAmountCents":100,"grantedOn":"2020-04-02","durationMonths":24,"grantedBy":{"role":"bank","id":"30004"},"grantedAt":"2020-04-02T10:00:00Z"}`)
	// An event of a schema version nobody can decode: every projector
	// that uses attestation.issued dead-letters it.
	undecodable := appendRaw(t, store, stream, "poison-2", domain.TypeAttestationIssued, 99, `{"whatever":true}`)
	h.run(t.Context(), 40)

	reg := prometheus.NewRegistry()
	rm := openRM(t, t.TempDir(), store, func(c *Config) { c.MaxRetries = 2; c.Registerer = reg })
	runRM(t, rm)
	head := waitHead(t, rm, store)

	want := map[string]int64{ProjectorLoanRequests: 1, ProjectorAttestations: 2, ProjectorCompanies: 1, ProjectorReports: 2}
	st, err := rm.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.DeadLetters != want[s.Name] || s.Position != head || s.Failing || !strings.Contains(s.LastError, "dead-lettered") {
			t.Errorf("%s: %+v, want %d dead letters, at %d, not failing", s.Name, s, want[s.Name], head)
		}
		if got := testutil.ToFloat64(rm.metrics.deadLetters.WithLabelValues(s.Name)); got != float64(want[s.Name]) {
			t.Errorf("%s: dead letters counter %v", s.Name, got)
		}
	}
	rows, err := rm.cur.Load().r.QueryContext(t.Context(), `SELECT projector, position, event_id, error FROM dead_letters ORDER BY 2, 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var p, id, msg string
		var pos uint64
		if err := rows.Scan(&p, &pos, &id, &msg); err != nil {
			t.Fatal(err)
		}
		n++
		if (pos != grant || id != "poison-1" || !strings.Contains(msg, "unknown")) &&
			(pos != undecodable || id != "poison-2" || !strings.Contains(msg, "schema version 99")) {
			t.Errorf("dead letter %s %d %s: %s", p, pos, id, msg)
		}
	}
	if n != 6 {
		t.Errorf("%d dead letters, want 6", n)
	}
	// The events after the poison ones were applied.
	last := h.companies[len(h.companies)-1].Requests()
	if _, err := rm.LoanRequest(t.Context(), last[len(last)-1].ID); err != nil {
		t.Errorf("request after the poison events: %v", err)
	}
}

// A batch that fails for a reason that is not the event's (the database)
// is never dead-lettered: the projector stalls, Status and Ready say so,
// and it resumes by itself once the cause is gone.
func TestStorageFailureStallsAndRecovers(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 5)
	h.run(t.Context(), 20)
	rm := openRM(t, t.TempDir(), store, func(c *Config) { c.MaxRetries = 1; c.BusyTimeout = 10 * time.Millisecond })
	// Another connection holds the database's write lock.
	other, err := sql.Open("sqlite", rm.cur.Load().path+"?_busy_timeout=10")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	blocker, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	runRM(t, rm)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := rm.Ready(t.Context()); err != nil && strings.Contains(err.Error(), "stalled") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the projector never reported the failure")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rm.Position() != 0 {
		t.Fatalf("position %d while the database is locked", rm.Position())
	}
	if _, err := blocker.ExecContext(t.Context(), `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	_ = blocker.Close()
	waitHead(t, rm, store)
	st, _ := rm.Status(t.Context())
	for _, s := range st {
		if s.DeadLetters != 0 || s.Failing || !strings.Contains(s.LastError, "locked") && !strings.Contains(s.LastError, "busy") {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	if err := rm.Ready(t.Context()); err != nil {
		t.Errorf("ready after recovery: %v", err)
	}
}

// WaitForPosition returns once every projector has applied the position,
// woken by the commit (not by polling), and gives up when its context
// ends.
func TestWaitForPosition(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 6)
	h.run(t.Context(), 10)
	rm := openRM(t, t.TempDir(), store, nil)
	runRM(t, rm)
	head := waitHead(t, rm, store)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := rm.WaitForPosition(ctx, head+1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait for a position not recorded yet: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		done <- rm.WaitForPosition(ctx, head+3)
	}()
	select {
	case err := <-done:
		t.Fatalf("returned before the event was recorded: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	for range 3 {
		h.submit(t.Context())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rm.Position() < head+3 {
		t.Fatalf("position %d after the wait, want ≥ %d", rm.Position(), head+3)
	}
}
