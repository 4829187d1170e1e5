package httpapi_test

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// withoutQuotas turns the per-principal quotas off, for the tests that
// send thousands of requests with one token on purpose.
func withoutQuotas(c *httpapi.Config) { c.Quotas = &httpapi.Quotas{Disabled: true} }

// withQuotas sets the quotas (the defaults for any role not given).
func withQuotas(q httpapi.Quotas) serviceOption {
	return func(c *httpapi.Config) { c.Quotas = &q }
}

// throttled returns ledger_http_throttled_total of a role.
func (s *service) throttled(role string) float64 {
	s.t.Helper()
	families, err := s.app.Registry.Gather()
	if err != nil {
		s.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "ledger_http_throttled_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "role" && l.GetValue() == role {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	s.t.Fatalf("no ledger_http_throttled_total{role=%q}", role)
	return 0
}

// The audit's finding "one tenant starves all" (issue 11): a thousand
// concurrent GET /v1/attestations?minPosition=999999999 from one company
// token, more than the server's global bound, each waiting for a position
// that never comes. The company is refused on its own quota (429 with
// Retry-After) before it takes a shared slot, so a bank's lookups all
// succeed meanwhile; the refusals are counted by role and logged about
// once a second, not once each. The victim's p99 is logged (issue 11
// wants it at most 10 ms; timings are not asserted on a shared machine).
func TestOneTenantFloodingDoesNotStarveTheOthers(t *testing.T) {
	var logs syncBuffer
	const globalBound, flooders, floodPause = 256, 600, 20 * time.Millisecond
	s := startService(t, t.TempDir(), func(c *httpapi.Config) {
		c.MaxInFlight = globalBound // the flood is larger, as 4,150 > 4,096 in the audit
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	bank := s.token(domain.RoleBank, bnp)
	var created projections.LoanRequestView
	s.do("POST", "/v1/loan-requests", bank, loanRequest(siren, bnp, 1000000, "2020-05-04")).json(t, &created)
	lookup := "/v1/attestations/" + created.Attestation.Number
	if r := s.do("GET", fmt.Sprintf("%s?minPosition=%d", lookup, created.Position), bank, nil); r.status != 200 {
		t.Fatalf("lookup before the flood: %d %s", r.status, r.body)
	}

	flood := s.token(domain.RoleCompany, siren)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: flooders, MaxConnsPerHost: 0}}
	defer client.CloseIdleConnections()
	var (
		stop               atomic.Bool
		sent, refused      atomic.Int64
		floodErrors        atomic.Int64
		noRetryAfter, odd  atomic.Int64
		wg                 sync.WaitGroup
		firstRefusal       = make(chan struct{})
		firstRefusalClosed sync.Once
	)
	floodStart := time.Now()
	for range flooders {
		wg.Go(func() {
			for !stop.Load() {
				req, _ := http.NewRequest("GET", s.http.URL+"/v1/attestations?minPosition=999999999", nil)
				req.Header.Set("Authorization", "Bearer "+flood)
				resp, err := client.Do(req)
				if err != nil {
					floodErrors.Add(1)
					continue // the server closing at the end
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				sent.Add(1)
				switch {
				case resp.StatusCode == http.StatusTooManyRequests:
					// Again at once, or nearly: a pause of floodPause
					// keeps the test's own client from taking both
					// cores of a small machine (raw CPU exhaustion is
					// for the network's rate limiting, not for quotas).
					time.Sleep(floodPause)
					refused.Add(1)
					if resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
						noRetryAfter.Add(1)
					}
					firstRefusalClosed.Do(func() { close(firstRefusal) })
				case resp.StatusCode != http.StatusServiceUnavailable: // a wait that timed out
					odd.Add(1)
				}
			}
		})
	}
	select {
	case <-firstRefusal:
	case <-time.After(10 * time.Second):
		t.Fatal("the flood was never refused")
	}
	time.Sleep(300 * time.Millisecond) // the flood at full strength

	victim := s.http.Client()
	const lookups = 300
	took := make([]time.Duration, 0, lookups)
	statuses := map[int]int{}
	for range lookups {
		req, _ := http.NewRequest("GET", s.http.URL+lookup, nil)
		req.Header.Set("Authorization", "Bearer "+bank)
		start := time.Now()
		resp, err := victim.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took = append(took, time.Since(start))
		statuses[resp.StatusCode]++
	}
	stop.Store(true)
	wg.Wait()
	floodTook := time.Since(floodStart)

	if statuses[200] != lookups {
		t.Errorf("the victim's lookups during the flood: %v, want %d × 200", statuses, lookups)
	}
	slices.Sort(took)
	t.Logf("victim: %d lookups during the flood, p50 %v, p99 %v, max %v; flood: %d requests, %d refused (429)",
		lookups, took[lookups/2], took[lookups*99/100-1], took[lookups-1], sent.Load(), refused.Load())
	t.Logf("flood errors %d; slowest %v", floodErrors.Load(), took[lookups-10:])
	if refused.Load() == 0 || noRetryAfter.Load() != 0 || odd.Load() != 0 {
		t.Errorf("flood: %d refused, %d without Retry-After or problem+json, %d neither 429 nor 503", refused.Load(), noRetryAfter.Load(), odd.Load())
	}
	if got := s.throttled("company"); got != float64(refused.Load()) {
		t.Errorf("ledger_http_throttled_total{role=company} = %v, the flood was refused %d times", got, refused.Load())
	}
	if got := s.throttled("bank"); got != 0 {
		t.Errorf("ledger_http_throttled_total{role=bank} = %v, want 0", got)
	}
	var throttleLines, otherLines int
	for _, l := range logs.lines(t) {
		if l["msg"] == "requests throttled" {
			throttleLines++
			if l["role"] != "company" || l["principal"] != siren {
				t.Errorf("throttle line names %v %v", l["role"], l["principal"])
			}
		} else if l["level"] == "ERROR" {
			otherLines++
		}
	}
	if throttleLines == 0 || throttleLines > 2+int(floodTook/time.Second) || int64(throttleLines) >= refused.Load()/10 {
		t.Errorf("%d throttle lines for %d refusals: want about one a second", throttleLines, refused.Load())
	}
	// At most the company's quota of waits timed out (503, an error line
	// each): not one line per flooding request.
	if otherLines > 4*(2+int(floodTook/(5*time.Second))) {
		t.Errorf("%d error lines during the flood", otherLines)
	}
}

// A principal's ?minPosition waits are capped (429 beyond, for it alone)
// and bounded by MaxWait (503 then).
func TestMinPositionWaitsCountAgainstTheCaller(t *testing.T) {
	q := httpapi.DefaultQuotas()
	q.Roles[domain.RoleCompany] = httpapi.Quota{Waits: 2}
	q.MaxWait = 300 * time.Millisecond
	s := startService(t, t.TempDir(), withQuotas(q))
	company, other := s.token(domain.RoleCompany, siren), s.token(domain.RoleCompany, "552100554")
	path := "/v1/attestations?minPosition=999999999"

	var wg sync.WaitGroup
	statuses := make([]int, 2)
	start := time.Now()
	for i := range 2 {
		wg.Go(func() { statuses[i] = s.do("GET", path, company, nil).status })
	}
	time.Sleep(100 * time.Millisecond) // both waiting
	third := s.do("GET", path, company, nil)
	if third.status != http.StatusTooManyRequests || third.header.Get("Retry-After") == "" {
		t.Errorf("a third wait: %d %s", third.status, third.body)
	}
	if r := s.do("GET", path, other, nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("another company's wait: %d %s", r.status, r.body)
	}
	wg.Wait()
	if statuses[0] != http.StatusServiceUnavailable || statuses[1] != http.StatusServiceUnavailable {
		t.Errorf("the waits: %v, want 503 after MaxWait", statuses)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the waits took %v, MaxWait is 300 ms", took)
	}
	// Done waiting: the company may wait again.
	if r := s.do("GET", "/v1/attestations?minPosition=1", company, nil); r.status == http.StatusTooManyRequests {
		t.Errorf("after the waits: %d %s", r.status, r.body)
	}
}

// A principal's rate is its own: one token beyond its bucket is refused,
// another of the same role is not.
func TestRateIsPerPrincipal(t *testing.T) {
	q := httpapi.DefaultQuotas()
	q.Roles[domain.RoleBank] = httpapi.Quota{Rate: 1, Burst: 3}
	s := startService(t, t.TempDir(), withQuotas(q))
	a, b := s.token(domain.RoleBank, bnp), s.token(domain.RoleBank, sg)
	var got []int
	for range 4 {
		got = append(got, s.do("GET", "/v1/attestations", a, nil).status)
	}
	if !slices.Equal(got, []int{200, 200, 200, 429}) {
		t.Errorf("bank A: %v, want three then 429", got)
	}
	if r := s.do("GET", "/v1/attestations", b, nil); r.status != 200 {
		t.Errorf("bank B after A's refusal: %d %s", r.status, r.body)
	}
	if s.throttled("bank") != 1 {
		t.Errorf("throttled{bank} = %v", s.throttled("bank"))
	}
}

// Unauthenticated traffic, and refused tokens, count against their source
// address: beyond its quota the address gets 429, while a tenant with a
// valid token is served.
func TestUnauthenticatedTrafficHasItsOwnLimit(t *testing.T) {
	q := httpapi.DefaultQuotas()
	q.Anonymous = httpapi.Quota{Rate: 1, Burst: 3}
	s := startService(t, t.TempDir(), withQuotas(q))
	var got []int
	for _, path := range []string{"/healthz", "/v1/attestations", "/openapi.json", "/healthz"} {
		got = append(got, s.do("GET", path, "", nil).status)
	}
	if !slices.Equal(got, []int{200, 401, 200, 429}) {
		t.Errorf("anonymous: %v, want 200 401 200 429", got)
	}
	if r := s.do("GET", "/v1/attestations", "not-a-token", nil); r.status != http.StatusTooManyRequests {
		t.Errorf("a forged token from the same address: %d", r.status)
	}
	if r := s.do("GET", "/v1/attestations", s.token(domain.RoleBank, bnp), nil); r.status != 200 {
		t.Errorf("a bank from the same address: %d %s", r.status, r.body)
	}
	if s.throttled("anonymous") != 2 {
		t.Errorf("throttled{anonymous} = %v", s.throttled("anonymous"))
	}
}

func TestParseQuota(t *testing.T) {
	def := httpapi.Quota{Rate: 5, Burst: 10, Concurrent: 2, Waits: 1}
	q, err := httpapi.ParseQuota(" rate=20, concurrent=16 ", def)
	if err != nil || q != (httpapi.Quota{Rate: 20, Burst: 10, Concurrent: 16, Waits: 1}) {
		t.Errorf("%+v %v", q, err)
	}
	if back, err := httpapi.ParseQuota(q.String(), httpapi.Quota{}); err != nil || back != q {
		t.Errorf("round trip %q: %+v %v", q.String(), back, err)
	}
	if q, err := httpapi.ParseQuota("rate=7", httpapi.Quota{}); err != nil || q.Burst != 7 {
		t.Errorf("a rate without burst: %+v %v", q, err)
	}
	for _, bad := range []string{"rate", "rate=-1", "rate=NaN", "burst=x", "waits=-2", "speed=3"} {
		if _, err := httpapi.ParseQuota(bad, def); err == nil || !strings.Contains(err.Error(), "quota") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// countingVerifier counts the signatures it checks.
type countingVerifier struct {
	auth.Verifier
	n *atomic.Int64
}

func (v countingVerifier) Verify(token string) (auth.Principal, error) {
	v.n.Add(1)
	return v.Verifier.Verify(token)
}

// A token refused on its principal's rate is refused again, until the
// bucket refills, before its signature is checked: a flood with one token
// costs the server no signature check per request. Another token of the
// same principal is checked as usual, and once the bucket refills the
// token is served again.
func TestAThrottledTokenIsRefusedBeforeItsSignatureIsChecked(t *testing.T) {
	var checks atomic.Int64
	q := httpapi.DefaultQuotas()
	q.Roles[domain.RoleBank] = httpapi.Quota{Rate: 5, Burst: 1}
	s := startService(t, t.TempDir(), withQuotas(q), func(c *httpapi.Config) {
		c.Verifier = countingVerifier{Verifier: c.Signer, n: &checks}
	})
	bank := s.token(domain.RoleBank, bnp)
	if r := s.do("GET", "/v1/attestations", bank, nil); r.status != 200 {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	before := checks.Load()
	refused := 0
	for range 20 {
		if s.do("GET", "/v1/attestations", bank, nil).status == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 || checks.Load()-before > int64(21-refused)+1 {
		t.Errorf("%d refused, %d signatures checked for 20 requests", refused, checks.Load()-before)
	}
	if got := s.throttled("bank"); got != float64(refused) {
		t.Errorf("throttled{bank} = %v, %d refused", got, refused)
	}
	time.Sleep(300 * time.Millisecond) // the bucket refills (5/s)
	if r := s.do("GET", "/v1/attestations", bank, nil); r.status != 200 {
		t.Errorf("after the refill: %d %s", r.status, r.body)
	}
}

// The principals of one role together have a bound too: many company
// tokens, each within its own quota, cannot take every shared slot from the
// banks.
func TestARoleTogetherHasItsBound(t *testing.T) {
	q := httpapi.DefaultQuotas()
	q.RoleInFlight = map[string]int{"company": 2}
	q.MaxWait = 500 * time.Millisecond
	s := startService(t, t.TempDir(), withQuotas(q))
	var wg sync.WaitGroup
	for _, c := range []string{siren, "552100554"} {
		tok := s.token(domain.RoleCompany, c)
		wg.Go(func() { s.do("GET", "/v1/attestations?minPosition=999999999", tok, nil) })
	}
	time.Sleep(150 * time.Millisecond) // both waiting
	third := s.do("GET", "/v1/attestations", s.token(domain.RoleCompany, "542051180"), nil)
	bank := s.do("GET", "/v1/attestations", s.token(domain.RoleBank, bnp), nil)
	wg.Wait()
	if third.status != http.StatusTooManyRequests {
		t.Errorf("a third company while two hold the role's slots: %d %s", third.status, third.body)
	}
	if bank.status != 200 {
		t.Errorf("a bank meanwhile: %d %s", bank.status, bank.body)
	}
	if r := s.do("GET", "/v1/attestations", s.token(domain.RoleCompany, "542051180"), nil); r.status != 200 {
		t.Errorf("the third company once the slots are free: %d %s", r.status, r.body)
	}
}

func TestParseRoleInFlight(t *testing.T) {
	def := httpapi.DefaultQuotas().RoleInFlight
	m, err := httpapi.ParseRoleInFlight("company=10, anonymous=0", def)
	if err != nil || m["company"] != 10 || m["anonymous"] != 0 || m["bank"] != def["bank"] || def["company"] == 10 {
		t.Errorf("%v %v", m, err)
	}
	if back, err := httpapi.ParseRoleInFlight(httpapi.RoleInFlightString(m), nil); err != nil || !maps.Equal(back, m) {
		t.Errorf("round trip %q: %v %v", httpapi.RoleInFlightString(m), back, err)
	}
	for _, bad := range []string{"company", "robot=3", "bank=-1", "bank=x"} {
		if _, err := httpapi.ParseRoleInFlight(bad, def); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
