package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/workload"
)

func newDemoCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Load a realistic spring-2020 workload through the API of a running server",
		Long: `Load a realistic spring-2020 workload through the API of a running server:
companies asking for attestations through their banks (some through two at
once), State decisions for the large ones, grants and cancellations.

Tokens are minted with the key in --data-dir, which must be the server's.
Each run asks for new companies (the seed is printed); --seed S repeats the
companies of an earlier run. Exits non-zero if any call failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			seed := v.GetUint64("seed")
			if seed == 0 {
				seed = freshSeed()
			}
			c, err := newAPIClient(v, 256)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if err := c.check(ctx); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "seed: %d (--seed %d repeats these companies)\n", seed, seed)
			d := &demo{client: c}
			st, err := d.run(ctx, v.GetInt("companies"), v.GetInt("concurrency"), seed)
			if st != nil {
				st.print(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			return st.failed()
		},
	}
	cmd.Flags().Int("companies", 2000, "how many companies ask for attestations")
	cmd.Flags().Int("concurrency", 32, "how many clients at once")
	cmd.Flags().Uint64("seed", 0, "seed of the workload: the same seed gives the same companies (default: a fresh one, printed)")
	addSettingFlags(cmd, "server", "data-dir", "keys-dir")
	return cmd
}

// freshSeed returns a seed no earlier run is likely to have used.
func freshSeed() uint64 {
	return uint64(time.Now().UnixNano()) & (1<<53 - 1) // exact in any JSON or YAML reader
}

// demo drives the workload through the HTTP API.
type demo struct {
	client *apiClient
	// stop ends the run early when a call shows that no other can succeed.
	stop  context.CancelFunc
	stats demoStats
}

type demoStats struct {
	mu         sync.Mutex
	companies  int
	byStatus   map[string]int
	byReason   map[string]int
	byKind     map[string]int
	grants     int
	cancels    int
	decisions  int
	concurrent int
	errors     map[string]int
	failures   int
	firstErr   error
	stopped    bool
	latencies  []time.Duration
	took       time.Duration
}

// call POSTs a body as a principal and decodes the JSON answer.
func (d *demo) call(ctx context.Context, role domain.Role, subject, path string, body any, out any) error {
	start := time.Now()
	err := d.client.post(ctx, auth.Principal{Role: role, Subject: subject}, path, body, out)
	d.count(func(s *demoStats) { s.latencies = append(s.latencies, time.Since(start)) })
	if err != nil {
		d.fail(err)
	}
	return err
}

type requestAnswer struct {
	RequestID   string `json:"requestId"`
	Status      string `json:"status"`
	Reasons     []domain.Reason
	Attestation *struct {
		Number      string `json:"number"`
		AmountCents int64  `json:"amountCents"`
	} `json:"attestation"`
}

func (d *demo) run(ctx context.Context, companies, concurrency int, seed uint64) (*demoStats, error) {
	if companies < 1 || concurrency < 1 {
		return nil, errors.New("companies and concurrency must be at least 1")
	}
	ctx, d.stop = context.WithCancel(ctx)
	defer d.stop()
	g := workload.New(seed)
	work := make([][]workload.Request, companies)
	st := &d.stats
	st.byStatus, st.byReason, st.byKind, st.errors = map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for i := range work {
		c := g.Company()
		work[i] = g.Requests(c)
		st.byKind[c.Kind]++
	}
	st.companies = companies
	bar := newProgress(int64(companies), "companies")
	jobs := make(chan []workload.Request)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reqs := range jobs {
				d.company(ctx, reqs)
				_ = bar.Add(1)
			}
		}()
	}
	for _, reqs := range work {
		select {
		case jobs <- reqs:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	_ = bar.Finish()
	st.took = time.Since(start)
	if fatal(st.firstErr) {
		return st, st.firstErr
	}
	return st, context.Cause(ctx)
}

// company sends a company's requests (at once when two banks ask), then
// grants, cancels or has the State decide.
func (d *demo) company(ctx context.Context, reqs []workload.Request) {
	var wg sync.WaitGroup
	if len(reqs) > 1 {
		d.stats.mu.Lock()
		d.stats.concurrent++
		d.stats.mu.Unlock()
	}
	for _, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.request(ctx, r)
		}()
	}
	wg.Wait()
}

// fail counts a failed call; one that no other call can get past (server
// unreachable, token refused) ends the run.
func (d *demo) fail(err error) {
	d.stats.mu.Lock()
	defer d.stats.mu.Unlock()
	if d.stats.stopped {
		return // calls cut short by the stop
	}
	d.stats.errors[errorKey(err)]++
	d.stats.failures++
	if d.stats.firstErr == nil {
		d.stats.firstErr = err
	}
	if fatal(err) {
		d.stats.stopped = true
		d.stop()
	}
}

// failed is the run's error when calls failed: one line.
func (s *demoStats) failed() error {
	if s.failures == 0 {
		return nil
	}
	return fmt.Errorf("demo: %d of %d calls failed; the first: %w", s.failures, len(s.latencies), s.firstErr)
}

func (d *demo) request(ctx context.Context, r workload.Request) {
	role, subject := domain.RoleBank, r.BankCode
	if r.ByCompany {
		role, subject = domain.RoleCompany, r.Company.SIREN
	}
	var a requestAnswer
	if err := d.call(ctx, role, subject, "/v1/loan-requests", r.Body(), &a); err != nil {
		return
	}
	if a.Status == "pending_state_review" {
		d.count(func(s *demoStats) { s.decisions++ })
		body := map[string]any{"approved": true, "decreeRef": "ECOT2020-" + r.Company.SIREN}
		if err := d.call(ctx, domain.RoleAdmin, "demo-admin", "/v1/loan-requests/"+a.RequestID+"/state-decision", body, &a); err != nil {
			return
		}
	}
	d.count(func(s *demoStats) {
		s.byStatus[a.Status]++
		for _, reason := range a.Reasons {
			s.byReason[string(reason.Code)]++
		}
	})
	if a.Attestation == nil {
		return
	}
	var out map[string]any
	switch r.Then {
	case "grant":
		on := domain.MustDate(r.RequestedOn).AddDays(7).String()
		body := map[string]any{"grantedAmountCents": a.Attestation.AmountCents, "grantedOn": on, "durationMonths": 12 + 12*int(a.Attestation.AmountCents%6)}
		if err := d.call(ctx, domain.RoleBank, r.BankCode, "/v1/attestations/"+a.Attestation.Number+"/grant", body, &out); err != nil {
			return
		}
		d.count(func(s *demoStats) { s.grants++ })
	case "cancel":
		if err := d.call(ctx, domain.RoleCompany, r.Company.SIREN, "/v1/attestations/"+a.Attestation.Number+"/cancel", map[string]any{"reason": "loan no longer needed"}, &out); err != nil {
			return
		}
		d.count(func(s *demoStats) { s.cancels++ })
	}
}

func (d *demo) count(f func(*demoStats)) {
	d.stats.mu.Lock()
	defer d.stats.mu.Unlock()
	f(&d.stats)
}

func (s *demoStats) print(w io.Writer) {
	calls := len(s.latencies)
	slices.Sort(s.latencies)
	pct := func(p float64) time.Duration {
		if calls == 0 {
			return 0
		}
		return s.latencies[min(calls-1, int(float64(calls)*p))]
	}
	fmt.Fprintf(w, "companies: %d (%s)\n", s.companies, joinCounts(s.byKind))
	fmt.Fprintf(w, "companies asking two banks at once: %d\n", s.concurrent)
	fmt.Fprintf(w, "requests by outcome: %s\n", joinCounts(s.byStatus))
	fmt.Fprintf(w, "rejections by reason: %s\n", joinCounts(s.byReason))
	fmt.Fprintf(w, "State decisions: %d, grants: %d, cancellations: %d\n", s.decisions, s.grants, s.cancels)
	fmt.Fprintf(w, "API calls: %d in %s: %.0f calls/s; latency p50 %s, p99 %s\n",
		calls, s.took.Round(time.Millisecond), float64(calls)/s.took.Seconds(), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond))
	if len(s.errors) > 0 {
		fmt.Fprintf(w, "errors: %s\n", joinCounts(s.errors))
	}
}

func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
