package journal

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"
)

// Entries reach a real rsyslog as RFC 5424 messages over TCP with
// octet-counting framing; while the collector is stopped they wait (the
// shipper reports it, and /readyz after the grace), and once it is back
// every entry arrives, each recognisable by its journal position.
func TestShipsToRsyslogAndSurvivesItsOutage(t *testing.T) {
	ctx := context.Background()
	r := newRsyslog(t, nil)
	r.start(t)
	store := openStore(t, t.TempDir())
	cfg := testConfig(store, t.TempDir(), t.TempDir())
	cfg.Syslog = &SyslogConfig{Addr: r.addr(), Hostname: "ledger-test", Grace: 200 * time.Millisecond}
	j := openJournal(t, cfg)
	for i := range 5 {
		if err := j.Record(read(i, "552100554")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "entries 1-5 in rsyslog's file", func() bool { return r.hasAll(5) })
	data, _ := os.ReadFile(r.out)
	line := regexp.MustCompile(`(?m)^<110>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|\+00:00) ledger-test attestation-ledger \d+ read\.company \[journal@32473 pos="1" id="\w+" result="success" subject="30004" role="bank" tenant="bank:30004" object="552100554" src="192\.0\.2\.7" req="req-a"\] \{"position":1,"time":"[^"]+","action":"read\.company"`)
	if !line.Match(data) {
		t.Fatalf("rsyslog wrote:\n%s", data)
	}
	waitFor(t, 5*time.Second, "the shipper to count 5 entries shipped", func() bool {
		st := j.Status().Syslog
		return st.Connected && st.Shipped >= 5 && st.LastPosition >= 5
	})

	r.stop()
	for i := range 5 {
		if err := j.Record(read(i, "732829320")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "the shipper to report the collector down with a backlog", func() bool {
		st := j.Status().Syslog
		return !st.Connected && st.Backlog > 0 && st.LastError != ""
	})
	waitFor(t, 5*time.Second, "readiness to report the collector", func() bool { return j.Ready(ctx) != nil })

	r.start(t)
	waitFor(t, 20*time.Second, "entries 1-10 in rsyslog's file", func() bool { return r.hasAll(10) })
	waitFor(t, 5*time.Second, "the shipper to report the collector back", func() bool {
		st := j.Status().Syslog
		return st.Connected && st.LastError == "" && st.Backlog == 0 && j.Ready(ctx) == nil
	})
	dups := 0
	for _, n := range r.positions() {
		dups += n - 1
	}
	t.Logf("10 entries shipped across the outage; %d duplicate(s), recognisable by position", dups)
}
