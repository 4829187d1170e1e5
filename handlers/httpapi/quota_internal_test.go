package httpapi

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestLimiter(t *testing.T, q Quotas) (*limiter, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	l, err := newLimiter(q, clock.now, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return l, clock
}

// The principals' table forgets those idle for idleAfter with nothing in
// flight, and beyond maxPrincipals new ones share one entry (source
// addresses are the client's to choose: the table cannot grow without
// bound).
func TestQuotaTableIsBounded(t *testing.T) {
	l, clock := newTestLimiter(t, Quotas{Anonymous: Quota{Rate: 1, Burst: 1, Concurrent: 1}})
	r := httptest.NewRequest("GET", "/healthz", nil)
	release, err := l.admit(r, anonymousRole, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	done, err := l.admit(r, anonymousRole, "10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	done()
	clock.add(idleAfter + time.Second)
	l.state(anonymousRole, "10.0.0.3") // sweeps
	tab := l.tables[anonymousRole]
	if _, ok := tab.m["10.0.0.2"]; ok {
		t.Error("an idle principal was kept")
	}
	if _, ok := tab.m["10.0.0.1"]; !ok {
		t.Error("a principal with a request in flight was forgotten")
	}
	release()

	for i := range maxPrincipals + 10 {
		l.state(anonymousRole, "h"+strconv.Itoa(i))
	}
	if n := len(tab.m); n > maxPrincipals+1 {
		t.Errorf("%d principals tracked, at most %d", n, maxPrincipals+1)
	}
	if l.state(anonymousRole, "late-1") != l.state(anonymousRole, "late-2") {
		t.Error("beyond the bound, new principals do not share one entry")
	}
}

// A token in the penalty box is refused until its bucket refills, then
// checked again; its refusals count against its principal's role.
func TestPenaltyBoxHoldsUntilTheBucketRefills(t *testing.T) {
	q := DefaultQuotas()
	q.Roles[domain.RoleBank] = Quota{Rate: 2, Burst: 1}
	l, clock := newTestLimiter(t, q)
	r := httptest.NewRequest("GET", "/v1/attestations", nil)
	if _, err := l.admit(r, "bank", "30004"); err != nil {
		t.Fatal(err)
	}
	_, err := l.admit(r, "bank", "30004")
	rr, ok := err.(*rateRefusal)
	if !ok || rr.until.Sub(clock.now()) <= 0 || rr.until.Sub(clock.now()) > 500*time.Millisecond {
		t.Fatalf("second request: %v", err)
	}
	l.penalize("tok", "bank", "30004", rr.until)
	if err := l.penalized(r, "tok"); err == nil {
		t.Error("a penalized token passed")
	}
	if err := l.penalized(r, "other"); err != nil {
		t.Errorf("another token: %v", err)
	}
	clock.add(500 * time.Millisecond)
	if err := l.penalized(r, "tok"); err != nil {
		t.Errorf("after the refill: %v", err)
	}
	if _, err := l.admit(r, "bank", "30004"); err != nil {
		t.Errorf("after the refill: %v", err)
	}
}
