package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/internal/natscluster"
)

// faultAck is a loan request a deployment acknowledged with 201.
type faultAck struct {
	requestID, number string
	position          uint64
	at                time.Time
	via               int // the instance that answered
}

// post sends a command with an Idempotency-Key and decodes the answer.
func post(url, token, key string, body any, out any) int {
	return sendJSON("POST", url, token, body, out, "Idempotency-Key", key)
}

// refusals counts the answers the writers got, by status (0: no answer).
var refusals = struct {
	sync.Mutex
	byCode map[int]int
}{byCode: map[int]int{}}

// submitUntilAcknowledged sends one loan request until a 201, through the
// instances in turn, always with the same Idempotency-Key (a client that
// does not know whether its request was stored retries it so). It gives up
// when ctx ends: the request was then never acknowledged.
func submitUntilAcknowledged(ctx context.Context, d *deployment, first int, token, key string, body any) (faultAck, bool) {
	for attempt := 0; ; attempt++ {
		via := (first + attempt) % len(d.instances)
		var v struct {
			RequestID   string `json:"requestId"`
			Status      string
			Position    uint64
			Attestation *struct{ Number string }
		}
		code := post(d.instances[via].url+"/v1/loan-requests", token, key, body, &v)
		refusals.Lock()
		refusals.byCode[code]++
		refusals.Unlock()
		if code == http.StatusCreated {
			a := faultAck{requestID: v.RequestID, position: v.Position, at: time.Now(), via: via}
			if v.Attestation != nil {
				a.number = v.Attestation.Number
			}
			return a, true
		}
		select {
		case <-ctx.Done():
			return faultAck{}, false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// The fault list, on real processes: a 3-node cluster in network
// namespaces and two `ledger serve` instances, under continuous writes
// through both: kill -9 the stream leader and restart it, kill -9 a
// follower and restart it, cut the (new) leader off the network and heal
// it, with a race for one company's ceiling across the instances while it
// is cut off. Then: every acknowledged request is in the log exactly once
// and readable from both instances, the log is contiguous, the ceiling
// held, and both instances serve the same checkpoints, each consistent
// with the one before (checked with x/mod/sumdb/tlog).
func TestDeploymentUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and two services; not in -short")
	}
	if err := natscluster.Isolatable(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the fault test: %v", err)
		}
		t.Skipf("fault test: %v", err)
	}
	d := startDeployment(t, true)
	bank, auditor := d.token("bank", "30004"), d.token("auditor", "alice")
	nc := d.connect(t)
	js, err := njs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	leader := func() *natscluster.Node {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			st, err := js.Stream(ctx, "LEDGER")
			cancel()
			if err == nil && st.CachedInfo().Cluster != nil && st.CachedInfo().Cluster.Leader != "" {
				return d.cluster.Node(st.CachedInfo().Cluster.Leader)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatal("no stream leader")
		return nil
	}

	// Writers: 8 clients, each request to the instances in turn.
	ctx, stop := context.WithCancel(t.Context())
	var mu sync.Mutex
	var acks []faultAck
	var writers sync.WaitGroup
	for w := range 8 {
		writers.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				siren := luhnSIREN(1_000_000 + w*100_000 + n)
				a, ok := submitUntilAcknowledged(ctx, d, w+n, bank, fmt.Sprintf("w%d-%d", w, n), requestBody(siren, 1000000))
				if !ok {
					return
				}
				mu.Lock()
				acks = append(acks, a)
				mu.Unlock()
			}
		})
	}
	type fault struct {
		what string
		at   time.Time
	}
	var faults []fault
	mark := func(what string) { faults = append(faults, fault{what, time.Now()}); t.Log(what) }
	restart := func(n *natscluster.Node) {
		t.Helper()
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
		if err := n.WaitHealthy(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	time.Sleep(3 * time.Second)
	l := leader()
	mark("kill -9 the stream leader " + l.Name)
	if err := l.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Second)
	restart(l)
	time.Sleep(3 * time.Second)

	var follower *natscluster.Node
	for _, n := range d.cluster.Nodes() {
		if n != leader() {
			follower = n
		}
	}
	mark("kill -9 the follower " + follower.Name)
	if err := follower.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	restart(follower)
	time.Sleep(3 * time.Second)

	cut := leader()
	mark("cut the stream leader " + cut.Name + " off the network")
	if err := d.cluster.Partition(cut); err != nil {
		t.Fatal(err)
	}
	// The ceiling (212,500 €) holds across instances while the leader is
	// cut off: 12 requests of 50,000 € for one company attest exactly 4.
	raceCtx, raceDone := context.WithTimeout(t.Context(), 60*time.Second)
	var race sync.WaitGroup
	var attested, answered int
	for i := range 12 {
		race.Go(func() {
			var v struct{ Status string }
			body := requestBody("732829320", 5000000)
			for attempt := 0; raceCtx.Err() == nil; attempt++ {
				if post(d.instances[(i+attempt)%2].url+"/v1/loan-requests", bank, fmt.Sprintf("race-%d", i), body, &v) == http.StatusCreated {
					mu.Lock()
					answered++
					if v.Status == "attested" {
						attested++
					}
					mu.Unlock()
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	// Long enough that writes resuming only when it heals would show.
	time.Sleep(20 * time.Second)
	if err := d.cluster.Heal(cut); err != nil {
		t.Fatal(err)
	}
	mark("healed " + cut.Name)
	race.Wait()
	raceDone()
	time.Sleep(4 * time.Second)
	stop()
	writers.Wait()

	if answered != 12 || attested != 4 {
		d.dumpLogs(t)
		t.Fatalf("ceiling race during the partition: %d answered, %d attested; want 12 and 4", answered, attested)
	}
	for i, f := range faults {
		if strings.HasPrefix(f.what, "healed") {
			continue
		}
		var resumed time.Duration
		via := map[int]bool{}
		for _, a := range acks {
			if a.at.After(f.at.Add(100 * time.Millisecond)) {
				if resumed == 0 {
					resumed = a.at.Sub(f.at)
				}
				via[a.via] = true
			}
		}
		t.Logf("fault %d, %s: writes resumed after %s", i+1, f.what, resumed.Round(time.Millisecond))
		if resumed == 0 || resumed > 15*time.Second {
			d.dumpLogs(t)
			t.Errorf("%s: writes resumed after %s, want within 15 s", f.what, resumed)
		}
		if len(via) != 2 {
			t.Errorf("%s: only instances %v acknowledged writes afterwards", f.what, via)
		}
	}
	refusals.Lock()
	t.Logf("answers to the writers, by status: %v", refusals.byCode)
	refusals.Unlock()
	t.Logf("%d requests acknowledged through both instances; longest pause without an acknowledgement: %s", len(acks), longestAckPause(acks).Round(time.Millisecond))

	// Every acknowledged request is in the log exactly once; the log is
	// contiguous.
	var last uint64
	for _, a := range acks {
		last = max(last, a.position)
	}
	submitted := map[string]int{}
	head := uint64(0)
	for from := uint64(1); ; {
		var page struct {
			Items []struct {
				Position uint64
				Type     string
				Data     struct {
					RequestID string `json:"requestId"`
				}
			}
			Next uint64
		}
		// 503 says "try again": a client does, for a while.
		url := fmt.Sprintf("%s/v1/events?from=%d&limit=1000&minPosition=%d", d.instances[0].url, from, last)
		for tries := 1; ; tries++ {
			code := call(t, "GET", url, auditor, nil, &page)
			if code == 200 {
				break
			}
			if code != http.StatusServiceUnavailable || tries == 20 {
				var ready map[string]any
				call(t, "GET", d.instances[0].url+"/readyz", auditor, nil, &ready)
				t.Fatalf("read the log from %d: %d after %d tries; readyz: %v", from, code, tries, ready)
			}
			t.Logf("read the log from %d: 503, trying again", from)
			time.Sleep(500 * time.Millisecond)
		}
		for _, e := range page.Items {
			if e.Position != head+1 {
				t.Fatalf("the log jumps from position %d to %d", head, e.Position)
			}
			head = e.Position
			if e.Type == "loan_request.submitted" {
				submitted[e.Data.RequestID]++
			}
		}
		if len(page.Items) == 0 || page.Next == 0 {
			break
		}
		from = page.Next
	}
	for id, n := range submitted {
		if n != 1 {
			t.Errorf("request %s submitted %d times in the log", id, n)
		}
	}
	for _, a := range acks {
		if submitted[a.requestID] != 1 {
			t.Fatalf("acknowledged request %s (position %d) is in the log %d times", a.requestID, a.position, submitted[a.requestID])
		}
		for _, in := range d.instances {
			var got struct{ RequestID string }
			if code := call(t, "GET", fmt.Sprintf("%s/v1/attestations/%s?minPosition=%d", in.url, a.number, last), auditor, nil, &got); code != 200 || got.RequestID != a.requestID {
				t.Fatalf("acknowledged attestation %s on %s: %d %+v", a.number, in.url, code, got)
			}
		}
	}
	t.Logf("log contiguous from 1 to %d; all %d acknowledged requests in it once, readable on both instances", head, len(acks))
	checkSameConsistentCheckpoints(t, d, auditor)
}

// longestAckPause is the longest time between two acknowledgements.
func longestAckPause(acks []faultAck) time.Duration {
	var at []time.Time
	for _, a := range acks {
		at = append(at, a.at)
	}
	if len(at) < 2 {
		return 0
	}
	slices.SortFunc(at, time.Time.Compare)
	var longest time.Duration
	for i := 1; i < len(at); i++ {
		longest = max(longest, at[i].Sub(at[i-1]))
	}
	return longest
}

// checkSameConsistentCheckpoints waits until the instances serve the same
// latest checkpoint, then checks that they serve the same list, each note
// signed by the deployment's key and consistent with the one before.
func checkSameConsistentCheckpoints(t *testing.T, d *deployment, token string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, b := checkpointOf(t, d.instances[0].url, token), checkpointOf(t, d.instances[1].url, token)
		if a != "" && a == b {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the instances serve different latest checkpoints:\n%s\n%s", a, b)
		}
		time.Sleep(500 * time.Millisecond)
	}
	get := func(url, path string) string {
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	list := get(d.instances[0].url, "/v1/ledger/checkpoints?limit=10000")
	if other := get(d.instances[1].url, "/v1/ledger/checkpoints?limit=10000"); other != list {
		t.Fatal("the instances serve different lists of checkpoints")
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(get(d.instances[0].url, "/v1/ledger/verifier-key")))
	if err != nil {
		t.Fatal(err)
	}
	type tree struct {
		size int64
		hash tlog.Hash
	}
	var trees []tree
	for _, text := range splitNotes(list) {
		n, err := note.Open([]byte(text), note.VerifierList(verifier))
		if err != nil {
			t.Fatalf("checkpoint does not verify: %v\n%s", err, text)
		}
		lines := strings.Split(n.Text, "\n")
		var tr tree
		if _, err := fmt.Sscan(lines[1], &tr.size); err != nil {
			t.Fatal(err)
		}
		h, err := base64.StdEncoding.DecodeString(lines[2])
		if err != nil || len(h) != tlog.HashSize {
			t.Fatalf("checkpoint root %q", lines[2])
		}
		copy(tr.hash[:], h)
		trees = append(trees, tr)
	}
	if len(trees) < 2 {
		t.Fatalf("%d checkpoints published during the run, want several", len(trees))
	}
	for i := 1; i < len(trees); i++ {
		prev, cur := trees[i-1], trees[i]
		if prev.size == 0 {
			continue // the empty tree is a prefix of every tree
		}
		var proof struct{ Hashes []string }
		if code := call(t, "GET", fmt.Sprintf("%s/v1/ledger/proofs/consistency?from=%d&to=%d", d.instances[i%2].url, prev.size, cur.size), token, nil, &proof); code != 200 {
			t.Fatalf("consistency proof %d→%d: %d", prev.size, cur.size, code)
		}
		var p tlog.TreeProof
		for _, s := range proof.Hashes {
			b, _ := base64.StdEncoding.DecodeString(s)
			var h tlog.Hash
			copy(h[:], b)
			p = append(p, h)
		}
		if err := tlog.CheckTree(p, cur.size, cur.hash, prev.size, prev.hash); err != nil {
			t.Fatalf("checkpoint %d (size %d) is not consistent with checkpoint %d (size %d): %v", i+1, cur.size, i, prev.size, err)
		}
	}
	t.Logf("both instances serve the same %d checkpoints, each consistent with the previous one", len(trees))
}

// splitNotes splits concatenated signed notes: each is its text, a blank
// line and its signature lines ("— …").
func splitNotes(s string) []string {
	var notes []string
	var cur strings.Builder
	inSigs := false
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if inSigs && !strings.HasPrefix(line, "— ") {
			notes = append(notes, cur.String())
			cur.Reset()
			inSigs = false
		}
		if line == "" && !inSigs {
			inSigs = true
		}
		cur.WriteString(line + "\n")
	}
	if cur.Len() > 0 {
		notes = append(notes, cur.String())
	}
	return notes
}

// The cluster replaced by an empty one under a running deployment (every
// node's disk lost, the nodes back at the same addresses): the running
// instances say they are not ready and why, acknowledge nothing and write
// nothing into it, and an instance restarted on its data dir refuses to
// start on it.
func TestDeploymentRefusesAnEmptiedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and two services; not in -short")
	}
	d := startDeployment(t, false)
	bank, auditor := d.token("bank", "30004"), d.token("auditor", "alice")
	for i := range 20 {
		if code := post(d.instances[i%2].url+"/v1/loan-requests", bank, fmt.Sprintf("before-%d", i), requestBody(luhnSIREN(3_000_000+i), 1000000), nil); code != 201 {
			t.Fatalf("request %d before the fault: %d", i, code)
		}
	}
	for _, n := range d.cluster.Nodes() {
		if err := n.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := n.Wipe(); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range d.cluster.Nodes() {
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.cluster.WaitHealthy(t.Context()); err != nil {
		t.Fatal(err)
	}
	replacedAt := time.Now()

	// Writes keep coming; none is acknowledged.
	for _, in := range d.instances {
		deadline := time.Now().Add(20 * time.Second)
		for {
			var ready struct {
				Ready  bool
				Checks map[string]string
			}
			code := call(t, "GET", in.url+"/readyz", auditor, nil, &ready)
			if code == http.StatusServiceUnavailable && strings.Contains(fmt.Sprint(ready.Checks), "not the store this process was writing to") {
				t.Logf("%s not ready %s after the replacement: %v", in.url, time.Since(replacedAt).Round(time.Millisecond), ready.Checks)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still says %d %+v about an emptied cluster", in.url, code, ready)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for i := range 10 {
		if code := post(d.instances[i%2].url+"/v1/loan-requests", bank, fmt.Sprintf("after-%d", i), requestBody(luhnSIREN(4_000_000+i), 1000000), nil); code == 201 {
			t.Fatalf("request %d acknowledged on the emptied cluster", i)
		} else if code != http.StatusServiceUnavailable {
			t.Errorf("request %d on the emptied cluster: %d, want 503", i, code)
		}
	}
	js, err := njs.New(d.connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if st, err := js.Stream(ctx, "LEDGER"); err == nil {
		t.Fatalf("an instance recreated the ledger stream on the emptied cluster (%d messages)", st.CachedInfo().State.Msgs)
	}

	// Restarted on its data dir (its tree holds the history), an instance
	// refuses the empty store.
	a := d.instances[0]
	a.kill()
	out, err := exec.Command(a.bin, a.args...).CombinedOutput()
	if err == nil {
		t.Fatal("an instance started on an emptied cluster")
	}
	if !strings.Contains(string(out), "refusing to serve it") {
		t.Fatalf("the refusal does not say why:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Logf("restart refused: %s", lines[len(lines)-1])
}

// dumpLogs logs the end of every instance's log (on a failure).
func (d *deployment) dumpLogs(t *testing.T) {
	for _, in := range d.instances {
		data, _ := os.ReadFile(in.log.Name())
		if len(data) > 6000 {
			data = data[len(data)-6000:]
		}
		t.Logf("%s ends:\n%s", in.log.Name(), data)
	}
}
