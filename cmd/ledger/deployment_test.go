package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
	"github.com/attestation-ledger/attestation-ledger/internal/natscluster"
)

// instance is one `ledger serve` process of a deployment.
type instance struct {
	t    testing.TB
	bin  string
	args []string
	url  string
	cmd  *exec.Cmd
	log  *os.File
}

func (in *instance) start() {
	in.t.Helper()
	in.cmd = exec.Command(in.bin, in.args...)
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := in.cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(in.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(in.log.Name())
			if len(log) > 3000 {
				log = log[len(log)-3000:]
			}
			in.t.Fatalf("instance %s not ready; its log ends:\n%s", in.url, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (in *instance) kill() {
	_ = in.cmd.Process.Signal(syscall.SIGKILL)
	_ = in.cmd.Wait()
}

// call sends a JSON request and decodes the answer into out (if not nil).
func call(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	return sendJSON(method, url, token, body, out)
}

// testClient bounds every call of the deployment tests.
var testClient = &http.Client{Timeout: 30 * time.Second}

// sendJSON sends a JSON request with headers (name, value, …) and decodes
// the answer into out (if not nil); 0 when no answer came.
func sendJSON(method, url, token string, body any, out any, headers ...string) int {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := testClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(data, out)
	}
	return resp.StatusCode
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func requestBody(siren string, amount int64) map[string]any {
	return map[string]any{
		"siren": siren, "bankCode": "30004", "amountCents": amount, "requestedOn": "2020-05-04",
		"company": map[string]any{
			"name": "Boulangerie Martin", "legalForm": "SAS", "nafCode": "10.71C", "regionCode": "11",
			"headcount": 8, "turnoverCents": 85000000, "balanceSheetCents": 40000000, "payrollCents": 30000000,
			"createdOn": "2012-05-14", "innovative": false,
			"collectiveProceeding": map[string]any{"kind": "none", "openedOn": nil},
		},
	}
}

// Two `ledger serve` processes on a 3-node JetStream cluster (R3), sharing
// a keys dir: one deployment. The ceiling holds under a race across the
// instances, a write on one is read on the other at its position, both
// serve the same checkpoint, an instance killed with SIGKILL mid-write
// loses no acknowledged request, and an event forged straight into the
// cluster is used by neither.
func TestDeploymentOfTwoInstancesOnACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and two services; not in -short")
	}
	d := startDeployment(t, false)
	a, b, instances := d.instances[0], d.instances[1], d.instances
	tok := d.token
	bank, auditor := tok("bank", "30004"), tok("auditor", "alice")

	// The ceiling (25 % of 850,000 €: 212,500 €) holds across instances:
	// 12 concurrent requests of 50,000 €, half on each, attest exactly 4.
	var wg sync.WaitGroup
	var mu sync.Mutex
	attested := 0
	for i := range 12 {
		wg.Go(func() {
			var v struct{ Status string }
			if code := call(t, "POST", instances[i%2].url+"/v1/loan-requests", bank, requestBody("732829320", 5000000), &v); code != 201 {
				t.Errorf("request %d: %d", i, code)
			}
			mu.Lock()
			defer mu.Unlock()
			if v.Status == "attested" {
				attested++
			}
		})
	}
	wg.Wait()
	if attested != 4 {
		t.Fatalf("%d requests of 50,000 € attested under a 212,500 € ceiling across two instances, want 4", attested)
	}

	// Read-your-writes across instances.
	var created struct {
		Position    uint64
		Attestation struct{ Number string }
	}
	if code := call(t, "POST", a.url+"/v1/loan-requests", bank, requestBody("552100554", 1000000), &created); code != 201 {
		t.Fatalf("submit on a: %d", code)
	}
	var got struct{ Number, Status string }
	if code := call(t, "GET", fmt.Sprintf("%s/v1/attestations/%s?minPosition=%d", b.url, created.Attestation.Number, created.Position), bank, nil, &got); code != 200 || got.Number != created.Attestation.Number {
		t.Fatalf("read on b at a's position: %d %+v", code, got)
	}

	// A killed instance loses nothing acknowledged.
	type ack struct {
		number string
		pos    uint64
	}
	var acks []ack
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		for i := 0; ; i++ {
			var v struct {
				Position    uint64
				Attestation *struct{ Number string }
			}
			siren := luhnSIREN(100000 + i)
			if code := call(t, "POST", a.url+"/v1/loan-requests", bank, requestBody(siren, 1000000), &v); code != 201 {
				return // the instance is gone
			}
			if v.Attestation != nil {
				acks = append(acks, ack{v.Attestation.Number, v.Position})
			}
		}
	}()
	time.Sleep(1500 * time.Millisecond)
	a.kill()
	<-writing
	if len(acks) == 0 {
		t.Fatal("nothing was acknowledged before the kill")
	}
	a.start()
	last := acks[len(acks)-1].pos
	for _, in := range instances {
		for _, k := range acks {
			if code := call(t, "GET", fmt.Sprintf("%s/v1/attestations/%s?minPosition=%d", in.url, k.number, last), auditor, nil, nil); code != 200 {
				t.Fatalf("acknowledged attestation %s at %d: %d on %s", k.number, k.pos, code, in.url)
			}
		}
	}
	t.Logf("%d requests acknowledged by the killed instance, all readable on both after its restart", len(acks))

	// A forged event published straight into the cluster (a stolen NATS
	// credential, no provenance key).
	nc := d.connect(t)
	forged := `{"id":"forged-1","type":"attestation.issued","schemaVersion":1,"occurredAt":"2020-05-04T10:00:00Z","actor":{"role":"bank","id":"30003"},"data":{"number":"PGE-0000-0000-0000-0000"}}`
	msg := nats.NewMsg("ledger.company.356000000")
	msg.Header.Set("Ledger-Version", "1")
	msg.Data = []byte(forged)
	if err := nc.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// The same credential cannot erase the evidence.
	js, err := njs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, "LEDGER"); err == nil {
		t.Fatal("the ledger's NATS user deleted the ledger stream")
	}
	ctx, cancel = context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if st, err := js.Stream(ctx, "LEDGER_CHECKPOINTS"); err != nil {
		t.Fatal(err)
	} else if err := st.Purge(ctx); err == nil {
		t.Fatal("the ledger's NATS user purged the checkpoints")
	}
	for _, in := range instances {
		deadline := time.Now().Add(15 * time.Second)
		for {
			var ready struct {
				UntrustedEvents struct{ Count int } `json:"untrustedEvents"`
			}
			call(t, "GET", in.url+"/readyz", auditor, nil, &ready)
			if ready.UntrustedEvents.Count == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never counted the forged event: %+v", in.url, ready)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Both serve the same checkpoint once the log is quiet.
	deadline := time.Now().Add(20 * time.Second)
	for {
		ca, cb := checkpointOf(t, a.url, auditor), checkpointOf(t, b.url, auditor)
		if ca != "" && ca == cb {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the instances serve different checkpoints:\n%s\n%s", ca, cb)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// deployment is a 3-node NATS cluster, authorized by the accounts `ledger
// keys init --nats-auth` writes, and two `ledger serve` processes on it
// (R3), sharing a keys dir.
type deployment struct {
	dir, keysDir, bin string
	cluster           *natscluster.Cluster
	instances         []*instance
}

func startDeployment(t testing.TB, isolated bool) *deployment {
	t.Helper()
	d := &deployment{dir: t.TempDir()}
	d.keysDir = filepath.Join(d.dir, "keys")
	auth := filepath.Join(d.dir, "ledger-auth.conf")
	if _, err := run(t, "keys", "init", "--keys-dir", d.keysDir, "--nats-auth", auth); err != nil {
		t.Fatal(err)
	}
	var err error
	d.cluster, err = natscluster.Start(t.Context(), natscluster.Options{Dir: filepath.Join(d.dir, "nats"), Include: auth, Isolated: isolated})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.cluster.Close)
	d.bin = filepath.Join(d.dir, "ledger")
	if out, err := execGoBuild(d.bin); err != nil {
		t.Fatalf("build: %v: %s", err, out)
	}
	var monitors []string
	for _, n := range d.cluster.Nodes() {
		monitors = append(monitors, n.MonitorURL())
	}
	for i := range 2 {
		addr := freeAddr(t)
		logf, err := os.Create(filepath.Join(d.dir, fmt.Sprintf("serve-%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		in := &instance{t: t, bin: d.bin, url: "http://" + addr, log: logf, args: []string{"serve",
			"--data-dir", filepath.Join(d.dir, fmt.Sprintf("data-%d", i)), "--keys-dir", d.keysDir,
			"--nats-url", d.cluster.URL(), "--nats-monitor-url", strings.Join(monitors, ","),
			"--replicas", "3", "--http-addr", addr, "--log-level", "warn",
			// The tests read back every acknowledged attestation as fast as
			// they can, as one auditor: above its default quota.
			"--quota-auditor", "rate=20000,burst=40000,concurrent=256,waits=256"}}
		in.start()
		t.Cleanup(in.kill)
		d.instances = append(d.instances, in)
	}
	return d
}

// token issues a token of the deployment.
func (d *deployment) token(role, subject string) string {
	out, err := run(d.instances[0].t, "token", "issue", "--keys-dir", d.keysDir, "--role", role, "--subject", subject)
	if err != nil {
		d.instances[0].t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// connect connects to the cluster as the ledger's NATS user (what a
// stolen ledger credential gives).
func (d *deployment) connect(t testing.TB) *nats.Conn {
	t.Helper()
	seed, pub, err := datadir.LoadNATSSeed(datadir.NewKeys(d.keysDir).NATSLedger)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(d.cluster.URL(), nats.Nkey(pub, kp.Sign))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func checkpointOf(t testing.TB, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/ledger/checkpoint", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// luhnSIREN returns a valid SIREN from a number: 8 digits and a Luhn check.
func luhnSIREN(n int) string {
	base := fmt.Sprintf("%08d", n%100000000)
	for c := 0; c <= 9; c++ {
		s := base + string(rune('0'+c))
		sum := 0
		for i := range 9 {
			d := int(s[8-i] - '0')
			if i%2 == 1 {
				d *= 2
				if d > 9 {
					d -= 9
				}
			}
			sum += d
		}
		if sum%10 == 0 {
			return s
		}
	}
	return ""
}

// execGoBuild builds the ledger binary to bin.
func execGoBuild(bin string) ([]byte, error) {
	return exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
}

// serveOne builds the ledger into dir and starts one `ledger serve` on its
// embedded store in data, its log in dir; stopped when the test ends.
func serveOne(t testing.TB, dir, data string) *instance {
	t.Helper()
	bin := filepath.Join(dir, "ledger")
	if out, err := execGoBuild(bin); err != nil {
		t.Fatalf("build: %v: %s", err, out)
	}
	addr := freeAddr(t)
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, bin: bin, url: "http://" + addr, log: logf, args: []string{"serve",
		"--data-dir", data, "--http-addr", addr, "--log-level", "warn"}}
	in.start()
	t.Cleanup(in.kill)
	return in
}
