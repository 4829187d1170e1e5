package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
)

// batchAnswer is one line of a batch's answer.
type batchAnswer struct {
	Line   int             `json:"line"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// batchLine is one input line: a key and a loan request body.
func batchLine(t testing.TB, key string, req any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"idempotencyKey": key, "request": req})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// postBatch sends lines as a batch (checked against openapi.json) and
// returns the answer and its lines.
func (s *service) postBatch(token string, lines []string, headers ...string) (response, []batchAnswer) {
	s.t.Helper()
	body := []byte(strings.Join(lines, "\n") + "\n")
	r := s.do("POST", "/v1/loan-requests/batch", token, body, append([]string{"Content-Type", "application/x-ndjson"}, headers...)...)
	if r.status != http.StatusOK {
		return r, nil
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
		s.t.Fatalf("content type %q", ct)
	}
	var out []batchAnswer
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a batchAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			s.t.Fatalf("answer line %q: %v", sc.Text(), err)
		}
		out = append(out, a)
	}
	return r, out
}

// events returns the streams of the events after position from.
func (s *service) streamsAfter(from uint64) map[string]int {
	s.t.Helper()
	var page struct {
		Items []struct {
			Stream string `json:"stream"`
		} `json:"items"`
	}
	r := s.do("GET", fmt.Sprintf("/v1/events?from=%d&limit=1000&minPosition=%d", from+1, s.head()), s.token(domain.RoleAuditor, "auditor-1"), nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("events: %d %s", r.status, r.body)
	}
	r.json(s.t, &page)
	out := map[string]int{}
	for _, e := range page.Items {
		out[e.Stream]++
	}
	return out
}

// A batch of mixed lines answers each in order with the status the single
// POST would give, appends exactly the valid ones; sent again, it appends
// nothing and answers the same.
func TestBatchMixedLinesInOrderAndIdempotent(t *testing.T) {
	s := startService(t, t.TempDir())
	bank := s.token(domain.RoleBank, bnp)
	zero := loanRequest("443061841", bnp, 0, "2020-04-01")
	lines := []string{
		batchLine(t, "k1", loanRequest(siren, bnp, 1_000_000, "2020-04-01")),
		`{"idempotencyKey": "k2", "request": {`,                               // not JSON
		batchLine(t, "k3", zero),                                              // an invalid field
		batchLine(t, "k4", loanRequest(siren2, sg, 1_000_000, "2020-04-01")),  // another bank's code
		batchLine(t, "k1", loanRequest(siren, bnp, 2_000_000, "2020-04-01")),  // k1 with another body
		batchLine(t, "k6", loanRequest(siren2, bnp, 1_000_000, "2020-04-01")), // valid
		`{"idempotencyKey": "k7", "request": {}, "idempotencyKey": "k8"}`,     // a key given twice
		`{"request": ` + strings.TrimSuffix(strings.TrimPrefix(batchLine(t, "x", loanRequest(siren, bnp, 1_000_000, "2020-04-01")), `{"idempotencyKey":"x","request":`), "}") + `}`, // no key
	}
	req := strings.TrimSuffix(strings.TrimPrefix(batchLine(t, "x", loanRequest(siren, bnp, 1_000_000, "2020-04-01")), `{"idempotencyKey":"x","request":`), "}")
	lines = append(lines,
		`{"request": `+req+`, "idempotencyKey": "k9", "idempotencyKey": "k10"}`, // a key given twice after the request
		`{"request": `+req+`, "IdempotencyKey": "k11"}`,                         // a key in another case after it
		`{"idempotencyKey": "k12", "request": {"siren": "1", "siren": "2"}}`,    // a request key given twice
	)
	want := []int{201, 400, 400, 403, 409, 201, 400, 400, 400, 400, 400}
	before := s.head()
	r, got := s.postBatch(bank, lines)
	if r.status != http.StatusOK || len(got) != len(want) {
		t.Fatalf("batch: %d, %d lines: %s", r.status, len(got), r.body)
	}
	for i, a := range got {
		if a.Line != i+1 || a.Status != want[i] {
			t.Errorf("answer %d: line %d status %d, want line %d status %d: %s", i, a.Line, a.Status, i+1, want[i], a.Body)
		}
	}
	var first struct {
		RequestID string `json:"requestId"`
		SIREN     string `json:"siren"`
		Status    string `json:"status"`
		Position  uint64 `json:"position"`
	}
	if err := json.Unmarshal(got[0].Body, &first); err != nil || first.SIREN != siren || first.RequestID == "" || first.Position == 0 {
		t.Errorf("line 1 body: %s", got[0].Body)
	}
	var p struct {
		Status int `json:"status"`
		Type   string
		Errors []domain.FieldError
	}
	if err := json.Unmarshal(got[2].Body, &p); err != nil || p.Status != 400 || len(p.Errors) == 0 || p.Errors[0].Field != "request.amountCents" {
		t.Errorf("line 3 body: %s", got[2].Body)
	}
	if err := json.Unmarshal(got[4].Body, &p); err != nil || !strings.HasSuffix(p.Type, "/idempotency-key-reused") {
		t.Errorf("line 5 body: %s", got[4].Body)
	}
	if err := json.Unmarshal(got[7].Body, &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != "idempotencyKey" {
		t.Errorf("line 8 body: %s", got[7].Body)
	}
	for i, field := range map[int]string{8: "idempotencyKey", 9: "IdempotencyKey", 10: "request.siren"} {
		p.Errors = nil
		if err := json.Unmarshal(got[i].Body, &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("line %d body: %s, want an error on %s", i+1, got[i].Body, field)
		}
	}
	// Exactly the two valid lines' companies were appended to.
	streams := s.streamsAfter(before)
	if len(streams) != 2 || streams["company-"+siren] == 0 || streams["company-"+siren2] == 0 {
		t.Errorf("appended to %v, want the streams of %s and %s", streams, siren, siren2)
	}
	head := s.head()

	// The same batch again: nothing new, the same answers.
	r2, again := s.postBatch(bank, lines)
	if r2.status != http.StatusOK || len(again) != len(got) {
		t.Fatalf("again: %d: %s", r2.status, r2.body)
	}
	for i := range got {
		if again[i].Status != got[i].Status {
			t.Errorf("again, line %d: %d, first %d", i+1, again[i].Status, got[i].Status)
		}
		if got[i].Status == 201 && !bytes.Equal(again[i].Body, got[i].Body) {
			t.Errorf("again, line %d: %s\nfirst: %s", i+1, again[i].Body, got[i].Body)
		}
	}
	if h := s.head(); h != head {
		t.Errorf("the batch sent again appended %d events", h-head)
	}
	// A line's key means the same request as the single POST's key.
	single := s.do("POST", "/v1/loan-requests", bank, []byte(lines[0][len(`{"idempotencyKey":"k1","request":`):len(lines[0])-1]), "Idempotency-Key", "k1")
	if single.status != 201 || s.head() != head {
		t.Errorf("single POST with a batch line's key: %d, head %d → %d: %s", single.status, head, s.head(), single.body)
	}
}

// The batch's own shape is refused whole, before anything is appended:
// more than 1,000 lines (413), a body over the limit (413), another
// content type (415), no line (400), a role other than bank (403).
func TestBatchRefusedWhole(t *testing.T) {
	s := startService(t, t.TempDir())
	bank := s.token(domain.RoleBank, bnp)
	valid := batchLine(t, "k", loanRequest(siren, bnp, 1_000_000, "2020-04-01"))
	before := s.head()

	lines := make([]string, 1001)
	for i := range lines {
		lines[i] = batchLine(t, fmt.Sprint("k", i), loanRequest(testSIREN(i), bnp, 1_000_000, "2020-04-01"))
	}
	if r, _ := s.postBatch(bank, lines); r.status != http.StatusRequestEntityTooLarge || r.problem(t).Status != 413 {
		t.Errorf("1,001 lines: %d %s", r.status, r.body)
	}
	huge := []string{valid, `{"idempotencyKey": "h", "request": "` + strings.Repeat("x", 4<<20) + `"}`}
	if r, _ := s.postBatch(bank, huge); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("4 MiB: %d %s", r.status, r.body)
	}
	for _, ct := range []string{"application/json", "text/plain", ""} {
		r := s.do("POST", "/v1/loan-requests/batch", bank, []byte(valid+"\n"), "Content-Type", ct)
		if r.status != http.StatusUnsupportedMediaType || r.problem(t).Status != 415 {
			t.Errorf("content type %q: %d %s", ct, r.status, r.body)
		}
	}
	if r := s.do("POST", "/v1/loan-requests/batch", bank, []byte("\n"), "Content-Type", "application/x-ndjson"); r.status != http.StatusBadRequest {
		t.Errorf("no line: %d %s", r.status, r.body)
	}
	if r, _ := s.postBatch(s.token(domain.RoleCompany, siren), []string{valid}); r.status != http.StatusForbidden {
		t.Errorf("as a company: %d %s", r.status, r.body)
	}
	if h := s.head(); h != before {
		t.Errorf("refused batches appended %d events", h-before)
	}
	// 1,000 lines are accepted, the last answered too.
	r, got := s.postBatch(bank, lines[:1000])
	if r.status != http.StatusOK || len(got) != 1000 || got[999].Line != 1000 {
		t.Fatalf("1,000 lines: %d, %d answers", r.status, len(got))
	}
}

// A bank may have Quota.Batches batches at once: one more is a 429, and
// the refusal is its own; once answered, a batch frees its slot.
func TestBatchQuota(t *testing.T) {
	q := httpapi.DefaultQuotas()
	bankQ := q.Roles[domain.RoleBank]
	bankQ.Batches = 1
	q.Roles[domain.RoleBank] = bankQ
	s := startService(t, t.TempDir(), withQuotas(q))
	bank := s.token(domain.RoleBank, bnp)
	// A long batch: 1,000 lines for one company, which run one after
	// the other; meanwhile, small batches.
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = batchLine(t, fmt.Sprint("q", i), loanRequest(siren, bnp, 1_000_000, "2020-04-01"))
	}
	before := s.head()
	done := make(chan response, 1)
	go func() {
		r, _, _ := s.exchange("POST", "/v1/loan-requests/batch", bank, []byte(strings.Join(lines, "\n")), "Content-Type", "application/x-ndjson")
		done <- r
	}()
	for s.head() == before { // the long batch has started
		time.Sleep(time.Millisecond)
	}
	throttled := false
	for i := 0; i < 500 && !throttled; i++ {
		r, _, _ := s.exchange("POST", "/v1/loan-requests/batch", bank, []byte(batchLine(t, fmt.Sprint("other", i), loanRequest(siren2, bnp, 1_000_000, "2020-04-01"))), "Content-Type", "application/x-ndjson")
		throttled = r.status == http.StatusTooManyRequests
	}
	first := <-done
	if first.status != http.StatusOK {
		t.Fatalf("first batch: %d %s", first.status, first.body)
	}
	if !throttled {
		t.Error("a second batch at once was never refused")
	}
	if r, _, _ := s.exchange("POST", "/v1/loan-requests/batch", bank, []byte(batchLine(t, "after", loanRequest(siren2, bnp, 1_000_000, "2020-04-01"))), "Content-Type", "application/x-ndjson"); r.status != http.StatusOK {
		t.Errorf("after the first batch: %d %s", r.status, r.body)
	}
}

// testSIREN returns the i-th of a series of valid SIRENs (Luhn).
func testSIREN(i int) string {
	d := []byte(fmt.Sprintf("4%07d0", i))
	sum := 0
	for k := 0; k < 9; k++ {
		n := int(d[k] - '0')
		if k%2 == 1 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	d[8] = byte('0' + (10-sum%10)%10)
	return string(d)
}

// The batches field of a quota is read and written like the others.
func TestQuotaBatchesParsed(t *testing.T) {
	q, err := httpapi.ParseQuota("batches=2", httpapi.DefaultQuotas().Roles[domain.RoleBank])
	if err != nil || q.Batches != 2 || q.Rate != 2000 {
		t.Fatalf("%+v %v", q, err)
	}
	back, err := httpapi.ParseQuota(q.String(), httpapi.Quota{})
	if err != nil || back != q {
		t.Errorf("%q read back as %+v (%v)", q.String(), back, err)
	}
	if _, err := httpapi.ParseQuota("batches=-1", q); err == nil {
		t.Error("batches=-1 accepted")
	}
}

// A batch answers past the server's WriteTimeout (meant for one answer)
// as long as it makes progress: 100 lines for one company, one after the
// other, take longer than the 200 ms the server allows here.
func TestBatchOutlivesWriteTimeout(t *testing.T) {
	s := startService(t, t.TempDir())
	hs := httptest.NewUnstartedServer(s.app.Handler)
	hs.Config.WriteTimeout = 200 * time.Millisecond
	hs.Start()
	defer hs.Close()
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = batchLine(t, fmt.Sprint("w", i), loanRequest(siren, bnp, 1_000_000, "2020-04-01"))
	}
	req, _ := http.NewRequest("POST", hs.URL+"/v1/loan-requests/batch", strings.NewReader(strings.Join(lines, "\n")))
	req.Header.Set("Authorization", "Bearer "+s.token(domain.RoleBank, bnp))
	req.Header.Set("Content-Type", "application/x-ndjson")
	start := time.Now()
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		n++
	}
	if n != len(lines) {
		t.Fatalf("%d of %d lines answered in %s (%v)", n, len(lines), time.Since(start), sc.Err())
	}
	if took := time.Since(start); took < hs.Config.WriteTimeout {
		t.Logf("the batch took %s only: the test proves nothing on this machine", took)
	}
}
