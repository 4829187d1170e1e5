package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/internal/workload"
)

// csvHeader is the header of the files the tests write.
const csvHeader = "siren,bankCode,amountCents,requestedOn,name,legalForm,nafCode,regionCode,headcount,turnoverCents,balanceSheetCents,payrollCents,createdOn,innovative,collectiveProceeding,collectiveProceedingOpenedOn"

// eventCount returns how many events the server's log holds (up to 1000).
func eventCount(t *testing.T, server, dir string) int {
	t.Helper()
	tok, err := run(t, "token", "issue", "--data-dir", dir, "--role", "auditor", "--subject", "submit-test")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", server+"/v1/events?from=1&limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Items []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}

// `ledger submit` sends a CSV file in batches: the valid lines are
// attested or rejected, a line it cannot read and a line the server
// refuses are reported by number and make it exit non-zero; run again on
// the same file, it appends nothing and answers the same.
func TestSubmitCSVTwiceAppendsOnce(t *testing.T) {
	dir := t.TempDir()
	server, _ := startServer(t, dir)
	file := filepath.Join(dir, "requests.csv")
	lines := []string{
		csvHeader,
		"732829320,30004,1000000,2020-04-01,Boulangerie Martin,SAS,10.71C,11,8,85000000,40000000,30000000,2012-05-14,false,,",
		"552100554,30003,900000000,2020-04-01,\"Martin, fils\",SARL,10.71C,11,8,85000000,,30000000,2012-05-14,,none,", // over the ceiling: rejected
		"443061841,30004,abc,2020-04-01,X,SAS,10.71C,11,8,85000000,,30000000,2012-05-14,false,,",                      // line 4: not a number
		"123456789,30004,1000000,2020-04-01,X,SAS,10.71C,11,8,85000000,,30000000,2012-05-14,false,,",                  // line 5: not a SIREN
		"",
		"443061841,30002,1000000,2020-04-01,Garage,SAS,45.20A,84,3,50000000,,20000000,2015-01-01,true,safeguard,2020-01-10",
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out1, out2 := filepath.Join(dir, "out1.csv"), filepath.Join(dir, "out2.csv")
	out, err := run(t, "submit", "--server", server, "--data-dir", dir, "--file", file, "--out", out1, "--batch", "2")
	if err == nil || !strings.Contains(err.Error(), "2 of 5 lines failed") {
		t.Fatalf("submit: %v, want 2 of 5 lines failed\n%s", err, out)
	}
	for _, want := range []string{"loan requests: 4 in", "attested 1, rejected 2, pending State review 0, failed 2",
		"CEILING_EXCEEDED 1", "COLLECTIVE_PROCEEDING 1", `line 4: amountCents: "abc" is not a whole number`, "line 5: 400 Invalid request: request.siren"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	events := eventCount(t, server, dir)
	if events == 0 {
		t.Fatal("nothing appended")
	}

	out, err = run(t, "submit", "--server", server, "--data-dir", dir, "--file", file, "--out", out2)
	if err == nil {
		t.Fatalf("second run: no error\n%s", out)
	}
	if n := eventCount(t, server, dir); n != events {
		t.Errorf("the second run appended %d events", n-events)
	}
	first, second := readCSV(t, out1), readCSV(t, out2)
	if len(first) != 6 || fmt.Sprint(first) != fmt.Sprint(second) {
		t.Errorf("results differ:\n%v\n%v", first, second)
	}
	if first[0][0] != "line" || first[1][3] != "attested" || first[1][5] == "" || first[3][3] != "error" || first[3][2] != "" || first[4][2] != "400" {
		t.Errorf("results:\n%v", first)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// A file without the header's required columns, or with an unknown one,
// is refused before anything is sent.
func TestSubmitCSVHeader(t *testing.T) {
	for _, header := range []string{"", "siren,bankCode", csvHeader + ",colour"} {
		_, _, err := readRequestsCSV(strings.NewReader(header + "\n"))
		if err == nil {
			t.Errorf("header %q: no error", header)
		}
	}
	reqs, bad, err := readRequestsCSV(strings.NewReader("\ufeff" + csvHeader + ",idempotencyKey\n" +
		"732829320,30004,1000000,,N,SAS,10.71C,11,8,85000000,,30000000,2012-05-14,,,,my-key\n"))
	if err != nil || len(bad) != 0 || len(reqs) != 1 || reqs[0].key != "my-key" || reqs[0].line != 2 {
		t.Fatalf("%+v %+v %v", reqs, bad, err)
	}
	var l struct {
		Request map[string]any `json:"request"`
	}
	if err := json.Unmarshal(reqs[0].json, &l); err != nil || l.Request["requestedOn"] != nil {
		t.Errorf("%s: %v", reqs[0].json, err)
	}
}

// writeWorkloadCSV writes n loan requests of the workload (seed) as a
// file for `ledger submit`, every one by its bank.
func writeWorkloadCSV(t testing.TB, w io.Writer, n int, seed uint64) {
	t.Helper()
	g := workload.New(seed)
	cw := csv.NewWriter(w)
	_ = cw.Write(strings.Split(csvHeader, ","))
	for written := 0; written < n; {
		for _, r := range g.Requests(g.Company()) {
			if written == n {
				break
			}
			p := r.Company.Profile
			proc := p["collectiveProceeding"].(map[string]any)
			opened := ""
			if on, ok := proc["openedOn"].(string); ok {
				opened = on
			}
			_ = cw.Write([]string{r.Company.SIREN, r.BankCode, fmt.Sprint(r.AmountCents), r.RequestedOn,
				fmt.Sprint(p["name"]), fmt.Sprint(p["legalForm"]), fmt.Sprint(p["nafCode"]), fmt.Sprint(p["regionCode"]),
				fmt.Sprint(p["headcount"]), fmt.Sprint(p["turnoverCents"]), fmt.Sprint(p["balanceSheetCents"]),
				fmt.Sprint(p["payrollCents"]), fmt.Sprint(p["createdOn"]), fmt.Sprint(p["innovative"]),
				fmt.Sprint(proc["kind"]), opened})
			written++
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		t.Fatal(err)
	}
}
