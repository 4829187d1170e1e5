package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/workload"
)

// The bench commands load a running server from another process, as its
// clients would: the figures include the network stack and leave the
// server's runtime to itself, unlike the in-process Go benchmarks.
func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a running server from outside: loan requests or status lookups",
	}
	cmd.AddCommand(newBenchRequestsCommand(), newBenchLookupsCommand())
	return cmd
}

func newBenchRequestsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "Post loan requests for fresh companies with concurrent clients, durable, and report the rate, the latency and the projection lag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := newBencher(cmd)
			if err != nil {
				return err
			}
			count, clients, _ := benchFlags(cmd)
			seed, _ := cmd.Flags().GetUint64("seed")
			if seed == 0 {
				seed = uint64(time.Now().UnixNano())
			}
			b.keys, _ = cmd.Flags().GetBool("idempotency-keys")
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return b.requests(ctx, cmd.OutOrStdout(), count, clients, seed)
		},
	}
	cmd.Flags().Int("count", 20000, "how many loan requests")
	cmd.Flags().Int("clients", 64, "how many concurrent clients")
	cmd.Flags().Uint64("seed", 0, "seed of the companies (default: the clock, so that each run asks for new companies)")
	cmd.Flags().Bool("idempotency-keys", false, "send each request with an Idempotency-Key, as careful clients do")
	addSettingFlags(cmd, "server", "data-dir", "keys-dir")
	return cmd
}

func newBenchLookupsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lookups",
		Short: "Look attestations up as their banks, at a steady rate or as fast as the clients go, and report the latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := newBencher(cmd)
			if err != nil {
				return err
			}
			count, clients, rate := benchFlags(cmd)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return b.lookups(ctx, cmd.OutOrStdout(), count, clients, rate)
		},
	}
	cmd.Flags().Int("count", 50000, "how many lookups")
	cmd.Flags().Int("clients", 64, "how many concurrent clients")
	cmd.Flags().Int("rate", 5000, "lookups per second (0: as fast as the clients go)")
	addSettingFlags(cmd, "server", "data-dir", "keys-dir")
	return cmd
}

func benchFlags(cmd *cobra.Command) (count, clients, rate int) {
	count, _ = cmd.Flags().GetInt("count")
	clients, _ = cmd.Flags().GetInt("clients")
	if cmd.Flags().Lookup("rate") != nil {
		rate, _ = cmd.Flags().GetInt("rate")
	}
	return count, clients, rate
}

// bencher times calls to a running server.
type bencher struct {
	client *apiClient
	// keys: loan requests carry an Idempotency-Key.
	keys bool
}

func newBencher(cmd *cobra.Command) (*bencher, error) {
	v, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	c, err := newAPIClient(v, 1024)
	if err != nil {
		return nil, err
	}
	if err := c.check(cmd.Context()); err != nil {
		return nil, err
	}
	return &bencher{client: c}, nil
}

// loadResult is what load measured.
type loadResult struct {
	// latencies are from when each operation was sent.
	latencies []time.Duration
	// late are from when each was due (paced runs only): they add the
	// time an operation waited for a free client, so that a server
	// falling behind the rate shows (no coordinated omission).
	late   []time.Duration
	errors map[string]int
	// failures counts the failed operations, firstErr is the first.
	failures int
	firstErr error
	took     time.Duration
}

// failed is the error of a run in which operations failed (one line), or
// nil; what, if not empty, says what it means.
func (r loadResult) failed(what string) error {
	if r.failures == 0 {
		return nil
	}
	if what != "" {
		what += ": "
	}
	return fmt.Errorf("%s%d of %d calls failed; the first: %w", what, r.failures, len(r.latencies), r.firstErr)
}

// load runs n operations on clients goroutines, started at rate per
// second (0: each client starts the next one when done), and returns
// their latencies and errors.

func load(ctx context.Context, n, clients, rate int, op func(ctx context.Context, i int) error) loadResult {
	res := loadResult{latencies: make([]time.Duration, n), errors: map[string]int{}}
	if rate > 0 {
		res.late = make([]time.Duration, n)
	}
	var mu sync.Mutex
	var done atomic.Int64
	type job struct {
		i   int
		due time.Time
	}
	jobs := make(chan job, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for j := range jobs {
				sent := time.Now()
				err := op(ctx, j.i)
				res.latencies[j.i] = time.Since(sent)
				if res.late != nil {
					res.late[j.i] = time.Since(j.due)
				}
				done.Add(1)
				if err != nil {
					mu.Lock()
					res.errors[errorKey(err)]++
					res.failures++
					if res.firstErr == nil {
						res.firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	bar := newProgress(int64(n), "calls")
	stopBar := make(chan struct{})
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = bar.Set64(done.Load())
			case <-stopBar:
				return
			}
		}
	}()
	start := time.Now()
send:
	for i := range n {
		due := time.Now()
		if rate > 0 {
			due = start.Add(time.Duration(i) * time.Second / time.Duration(rate))
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			}
		}
		select {
		case jobs <- job{i, due}:
		case <-ctx.Done():
			res.latencies = res.latencies[:i]
			if res.late != nil {
				res.late = res.late[:i]
			}
			break send
		}
	}
	close(jobs)
	wg.Wait()
	res.took = time.Since(start)
	close(stopBar)
	_ = bar.Set64(done.Load())
	_ = bar.Finish()
	return res
}

func (r loadResult) print(w io.Writer, what string) {
	fmt.Fprintf(w, "%s: %d in %s: %.0f/s\n", what, len(r.latencies), r.took.Round(time.Millisecond), float64(len(r.latencies))/r.took.Seconds())
	fmt.Fprintf(w, "latency: %s\n", percentiles(r.latencies))
	if r.late != nil {
		fmt.Fprintf(w, "latency from when due: %s\n", percentiles(r.late))
	}
	if len(r.errors) > 0 {
		fmt.Fprintf(w, "errors: %s\n", joinCounts(r.errors))
	}
}

// percentiles formats the percentiles of lat.
func percentiles(lat []time.Duration) string {
	lat = slices.Clone(lat)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))].Round(10 * time.Microsecond)
	}
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, p99.9 %s, max %s", pct(0.5), pct(0.9), pct(0.99), pct(0.999), pct(1))
}

// requests posts count loan requests, each for a fresh company, then
// waits for the read models to show the last one.
func (b *bencher) requests(ctx context.Context, w io.Writer, count, clients int, seed uint64) error {
	if count < 1 || clients < 1 {
		return errors.New("count and clients must be at least 1")
	}
	g := workload.New(seed)
	bodies := make([][]byte, count)
	banks := make([]auth.Principal, count)
	for i := range bodies {
		r := g.Requests(g.Company())[0]
		var err error
		if bodies[i], err = json.Marshal(r.Body()); err != nil {
			return err
		}
		banks[i] = auth.Principal{Role: domain.RoleBank, Subject: r.BankCode}
	}
	var last struct {
		sync.Mutex
		position  uint64
		requestID string
		bank      auth.Principal
	}
	res := load(ctx, count, clients, 0, func(ctx context.Context, i int) error {
		var headers []string
		if b.keys {
			headers = []string{"Idempotency-Key", fmt.Sprintf("bench-%d-%d", seed, i)}
		}
		body, err := b.client.expect(ctx, banks[i], http.StatusCreated, http.MethodPost, "/v1/loan-requests", bodies[i], headers...)
		if err != nil {
			return err
		}
		var v struct {
			RequestID string `json:"requestId"`
			Position  uint64 `json:"position"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		last.Lock()
		if v.Position > last.position {
			last.position, last.requestID, last.bank = v.Position, v.RequestID, banks[i]
		}
		last.Unlock()
		return nil
	})
	ended := time.Now()
	res.print(w, "loan requests")
	if last.requestID == "" {
		return cmp.Or(res.failed("no loan request succeeded"), ctx.Err(), errors.New("no loan request succeeded"))
	}
	// The read models have caught up once they answer at the last
	// position (minPosition waits up to 5 s on the server).
	for {
		path := "/v1/loan-requests/" + url.PathEscape(last.requestID) + "?minPosition=" + fmt.Sprint(last.position)
		status, body, err := b.client.call(ctx, last.bank, http.MethodGet, path, nil)
		if err != nil {
			return err
		}
		if status == http.StatusOK {
			break
		}
		if status != http.StatusServiceUnavailable {
			return fmt.Errorf("read back the last request: %w", b.client.failure(http.MethodGet, path, status, body))
		}
	}
	fmt.Fprintf(w, "projection lag after the last answer: %s (position %d)\n", time.Since(ended).Round(time.Millisecond), last.position)
	if err := ctx.Err(); err != nil {
		return err
	}
	return res.failed("")
}

// lookups looks attestations up as their banks.
func (b *bencher) lookups(ctx context.Context, w io.Writer, count, clients, rate int) error {
	if count < 1 || clients < 1 || rate < 0 {
		return errors.New("count and clients must be at least 1, rate at least 0")
	}
	body, err := b.client.get(ctx, auth.Principal{Role: domain.RoleAuditor, Subject: "bench"}, "/v1/attestations?limit=1000")
	if err != nil {
		return fmt.Errorf("list attestations: %w", err)
	}
	var list struct {
		Items []struct {
			Number   string `json:"number"`
			BankCode string `json:"bankCode"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("list attestations: %w", err)
	}
	if len(list.Items) == 0 {
		return errors.New("no attestation to look up: load some first (ledger demo, or ledger bench requests)")
	}
	paths := make([]string, len(list.Items))
	banks := make([]auth.Principal, len(list.Items))
	for i, it := range list.Items {
		paths[i] = "/v1/attestations/" + url.PathEscape(it.Number)
		banks[i] = auth.Principal{Role: domain.RoleBank, Subject: it.BankCode}
	}
	res := load(ctx, count, clients, rate, func(ctx context.Context, i int) error {
		k := i % len(paths)
		_, err := b.client.expect(ctx, banks[k], http.StatusOK, http.MethodGet, paths[k], nil)
		return err
	})
	what := fmt.Sprintf("lookups of %d attestations by %d clients", len(paths), clients)
	if rate > 0 {
		what += fmt.Sprintf(" paced at %d/s", rate)
	}
	res.print(w, what)
	if err := ctx.Err(); err != nil {
		return err
	}
	return res.failed("")
}
