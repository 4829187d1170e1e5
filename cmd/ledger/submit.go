package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
)

// batchPath is the bulk submission route.
const batchPath = "/v1/loan-requests/batch"

func newSubmitCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "submit --file requests.csv",
		Short: "Submit a CSV file of loan requests as their banks, in batches; re-running the same file appends nothing new",
		Long: `Submit a CSV file of loan requests through POST /v1/loan-requests/batch,
as the bank of each line (tokens minted with the key of --keys-dir or
--data-dir, or the one --token), --batch lines a call, --concurrency calls
at once, with a progress bar; then print a summary: attested, rejected by
reason, pending State review, and the lines that failed, by line number.

The first line is a header naming the columns, in any order:
  required: ` + strings.Join(requiredColumns, ",") + `
  optional: ` + strings.Join(optionalColumns, ",") + `
Each is the field of POST /v1/loan-requests of the same name (the company's
fields under their own names); collectiveProceeding is its kind (none when
empty) and collectiveProceedingOpenedOn its date; innovative is true or
false (false when empty).

Each line's idempotency key is its idempotencyKey column or, when absent,
derived from the line's number and content: re-running the same file (after
an interruption, or with its bad lines corrected) appends nothing new and
answers the same. Lines added or removed above a line change its number,
hence its key: add lines at the end of a file already sent, or give the
idempotencyKey column. A rejection is an answer, not an error; the command exits
non-zero when a line could not be read or was refused (4xx), or could not
be made durable after retries.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			file, _ := cmd.Flags().GetString("file")
			out, _ := cmd.Flags().GetString("out")
			size, _ := cmd.Flags().GetInt("batch")
			conc, _ := cmd.Flags().GetInt("concurrency")
			if file == "" {
				return errors.New("--file: want the CSV file of loan requests")
			}
			if size < 1 || size > 1000 || conc < 1 {
				return errors.New("--batch must be from 1 to 1000, --concurrency at least 1")
			}
			c, err := newAPIClient(v, conc*2)
			if err != nil {
				return err
			}
			c.http.Timeout = 5 * time.Minute // a batch answers when its last line is durable
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return submitFile(ctx, c, cmd.OutOrStdout(), file, out, size, conc)
		},
	}
	cmd.Flags().String("file", "", "the CSV file of loan requests (header line required; see above)")
	cmd.Flags().String("out", "", "write each line's result to this CSV file")
	cmd.Flags().Int("batch", 1000, "lines a call (at most 1000)")
	cmd.Flags().Int("concurrency", 4, "calls at once (a bank may have 4 batches in flight by default)")
	addClientFlags(cmd)
	return cmd
}

// lineResult is what became of one line.
type lineResult struct {
	line   int
	key    string
	status int // the line's HTTP status; 0: not sent (unreadable, or no answer)
	// outcome is the request's status (attested, rejected,
	// pending_state_review) on 201, else "error".
	outcome, requestID, number string
	reasons                    []string
	// err says why the line failed.
	err string
}

// submitted is the answer to a line, as the server sends it.
type submitted struct {
	Line   int             `json:"line"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// submitFile sends the file's requests and reports.
func submitFile(ctx context.Context, c *apiClient, w io.Writer, file, out string, size, conc int) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	reqs, bad, err := readRequestsCSV(bufio.NewReader(f))
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	results := make([]lineResult, len(reqs))
	for i, r := range reqs {
		results[i] = lineResult{line: r.line, key: r.key}
	}
	start := time.Now()
	bar := newProgress(int64(len(reqs)), "submitting")
	// Lines without a durable answer (a 5xx line, a failed call) are sent
	// again, with their keys, a few times.
	pending := make([]int, len(reqs))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; len(pending) > 0 && attempt < 4 && ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * time.Second)
		}
		pending = sendAll(ctx, c, reqs, results, pending, size, conc, func(n int) { _ = bar.Add(n) })
	}
	_ = bar.Finish()
	took := time.Since(start)
	for _, b := range bad {
		results = append(results, lineResult{line: b.line, outcome: "error", err: b.msg})
	}
	slices.SortFunc(results, func(a, b lineResult) int { return cmp.Compare(a.line, b.line) })
	failed := summarize(w, results, len(reqs), took)
	if out != "" {
		if err := writeResults(out, results); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lines failed (see above)", failed, len(results))
	}
	return nil
}

// sendAll sends the lines idx in batches of size, conc at once, each as
// its bank, and returns the lines to send again.
func sendAll(ctx context.Context, c *apiClient, reqs []csvRequest, results []lineResult, idx []int, size, conc int, progress func(int)) []int {
	// Batches of one bank each, in the order of the file.
	var batches [][]int
	open := map[string]int{} // bank → its batch being filled
	for _, i := range idx {
		b, ok := open[reqs[i].bank]
		if !ok || len(batches[b]) >= size {
			batches = append(batches, nil)
			b = len(batches) - 1
			open[reqs[i].bank] = b
		}
		batches[b] = append(batches[b], i)
	}
	var mu sync.Mutex
	var again []int
	work := make(chan []int)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for batch := range work {
				retry := sendBatch(ctx, c, reqs, results, batch)
				progress(len(batch) - len(retry))
				mu.Lock()
				again = append(again, retry...)
				mu.Unlock()
			}
		})
	}
	for _, b := range batches {
		if ctx.Err() != nil {
			break
		}
		work <- b
	}
	close(work)
	wg.Wait()
	slices.Sort(again)
	return again
}

// sendBatch sends one batch and records its lines' results; it returns
// the lines to send again (no durable answer).
func sendBatch(ctx context.Context, c *apiClient, reqs []csvRequest, results []lineResult, batch []int) []int {
	var body bytes.Buffer
	for _, i := range batch {
		body.Write(reqs[i].json)
		body.WriteByte('\n')
	}
	p := auth.Principal{Role: domain.RoleBank, Subject: reqs[batch[0]].bank}
	fail := func(status int, msg string) []int {
		for _, i := range batch {
			results[i].status, results[i].outcome, results[i].err = status, "error", msg
		}
		if status == 0 || status == http.StatusTooManyRequests || status >= 500 {
			return batch // worth sending again
		}
		return nil
	}
	resp, err := c.send(ctx, p, http.MethodPost, batchPath, body.Bytes(), "Content-Type", "application/x-ndjson")
	if err != nil {
		return fail(0, oneLine(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fail(resp.StatusCode, c.failure(http.MethodPost, batchPath, resp.StatusCode, data).Error())
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	answered := 0
	var again []int
	for sc.Scan() {
		var a submitted
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil || a.Line < 1 || a.Line > len(batch) {
			break
		}
		i := batch[a.Line-1]
		results[i] = resultOf(results[i], a)
		if a.Status >= 500 {
			again = append(again, i)
		}
		answered = max(answered, a.Line)
	}
	if answered < len(batch) { // the answer was cut short
		msg := "no answer"
		if err := sc.Err(); err != nil {
			msg = oneLine(err.Error())
		}
		for _, i := range batch[answered:] {
			results[i].status, results[i].outcome, results[i].err = 0, "error", msg
			again = append(again, i)
		}
	}
	return again
}

// resultOf reads a line's answer.
func resultOf(r lineResult, a submitted) lineResult {
	r.status = a.Status
	if a.Status == http.StatusCreated {
		var v struct {
			RequestID   string `json:"requestId"`
			Status      string `json:"status"`
			Reasons     []struct{ Code string }
			Attestation *struct{ Number string }
		}
		if err := json.Unmarshal(a.Body, &v); err != nil {
			r.outcome, r.err = "error", "unreadable answer: "+err.Error()
			return r
		}
		r.outcome, r.requestID, r.err, r.reasons = v.Status, v.RequestID, "", nil
		for _, reason := range v.Reasons {
			r.reasons = append(r.reasons, reason.Code)
		}
		if v.Attestation != nil {
			r.number = v.Attestation.Number
		}
		return r
	}
	var p struct {
		Title, Detail string
		Errors        []struct{ Field, Message string }
	}
	_ = json.Unmarshal(a.Body, &p)
	msg := fmt.Sprintf("%d %s", a.Status, cmp.Or(p.Title, http.StatusText(a.Status)))
	if len(p.Errors) > 0 {
		var fields []string
		for _, e := range p.Errors {
			fields = append(fields, strings.TrimSpace(e.Field+" "+e.Message))
		}
		msg += ": " + strings.Join(fields, "; ")
	} else if p.Detail != "" {
		msg += ": " + p.Detail
	}
	r.outcome, r.err = "error", oneLine(msg)
	return r
}

// maxErrorsShown bounds the failed lines printed (--out has them all).
const maxErrorsShown = 50

// summarize prints the run's figures and failed lines, and returns how
// many lines failed.
func summarize(w io.Writer, results []lineResult, sent int, took time.Duration) int {
	outcomes := map[string]int{}
	reasons := map[string]int{}
	var failed []lineResult
	for _, r := range results {
		outcomes[r.outcome]++
		for _, code := range r.reasons {
			reasons[code]++
		}
		if r.outcome == "error" {
			failed = append(failed, r)
		}
	}
	rate := float64(sent) / max(took.Seconds(), 1e-9)
	fmt.Fprintf(w, "loan requests: %d in %s: %.0f/s\n", sent, took.Round(time.Millisecond), rate)
	fmt.Fprintf(w, "attested %d, rejected %d, pending State review %d, failed %d\n",
		outcomes["attested"], outcomes["rejected"], outcomes["pending_state_review"], len(failed))
	if len(reasons) > 0 {
		codes := slices.Sorted(func(yield func(string) bool) {
			for k := range reasons {
				if !yield(k) {
					return
				}
			}
		})
		var parts []string
		for _, code := range codes {
			parts = append(parts, fmt.Sprintf("%s %d", code, reasons[code]))
		}
		fmt.Fprintf(w, "rejected by reason: %s\n", strings.Join(parts, ", "))
	}
	for i, r := range failed {
		if i == maxErrorsShown {
			fmt.Fprintf(w, "... and %d more failed lines\n", len(failed)-maxErrorsShown)
			break
		}
		fmt.Fprintf(w, "line %d: %s\n", r.line, r.err)
	}
	return len(failed)
}

// writeResults writes each line's result as CSV.
func writeResults(path string, results []lineResult) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(f)
	_ = cw.Write([]string{"line", "idempotencyKey", "status", "outcome", "requestId", "attestationNumber", "reasons", "error"})
	for _, r := range results {
		status := ""
		if r.status != 0 {
			status = strconv.Itoa(r.status)
		}
		_ = cw.Write([]string{strconv.Itoa(r.line), r.key, status, r.outcome, r.requestID, r.number,
			strings.Join(r.reasons, ";"), csvSafe(r.err)})
	}
	cw.Flush()
	if err := cmp.Or(cw.Error(), f.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}
