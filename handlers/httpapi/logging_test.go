package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
	"github.com/attestation-ledger/attestation-ledger/queries"
)

// brokenReadAll is a store whose global log cannot be read.
type brokenReadAll struct{ eventstore.Store }

func (brokenReadAll) ReadAll(context.Context, uint64, int) ([]eventstore.Envelope, error) {
	return nil, errors.New("disk on fire")
}

// syncBuffer is a buffer the server's goroutines may write to while the
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON lines written so far, failing on any other.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("a log line is not JSON: %v: %s", err, sc.Bytes())
		}
		out = append(out, m)
	}
	return out
}

// find returns the first line whose msg is msg and whose request_id is id.
func find(lines []map[string]any, msg, id string) map[string]any {
	for _, l := range lines {
		if l["msg"] == msg && l["request_id"] == id {
			return l
		}
	}
	return nil
}

// The HTTP layer logs authentication failures, denials, server errors and
// admin actions through the injected logger: JSON lines in UTC with the
// request id, like every other line of the service, and nothing through
// the global logger.
func TestHTTPLogsGoThroughTheInjectedLogger(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				a.Value = slog.TimeValue(a.Value.Time().UTC())
			}
			return a
		},
	}))
	// Anything logged through the global logger would land here instead.
	var global syncBuffer
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&global, nil)))
	t.Cleanup(func() { slog.SetDefault(previous) })

	s := startService(t, t.TempDir(), func(c *httpapi.Config) {
		c.Logger = logger
		c.Store = brokenReadAll{c.Store}
		// The global log is read by the query service.
		qs, err := queries.New(queries.Config{Store: c.Store, ReadModels: c.ReadModels.(queries.ReadModels), Ledger: c.Ledger})
		if err != nil {
			t.Fatal(err)
		}
		c.Queries = qs
	})

	const badTokenID = "req-bad-token-1"
	if r := s.do("GET", "/v1/attestations", "not.a.token", nil, "X-Request-Id", badTokenID); r.status != 401 {
		t.Fatalf("invalid token: %d %s", r.status, r.body)
	}
	const deniedID = "req-denied-1"
	if r := s.do("GET", "/v1/events", s.token(domain.RoleCompany, siren), nil, "X-Request-Id", deniedID); r.status != 403 {
		t.Fatalf("company reading the log: %d %s", r.status, r.body)
	}
	const rebuildID = "req-rebuild-1"
	if r := s.do("POST", "/v1/admin/projections/rebuild", s.token(domain.RoleAdmin, "admin-7"), nil, "X-Request-Id", rebuildID); r.status != 200 {
		t.Fatalf("rebuild: %d %s", r.status, r.body)
	}

	const failedID = "req-500-1"
	if r := s.do("GET", "/v1/events", s.token(domain.RoleAuditor, "auditor-1"), nil, "X-Request-Id", failedID); r.status != 500 {
		t.Fatalf("events from a broken store: %d %s", r.status, r.body)
	}

	lines := logs.lines(t)
	for _, want := range []struct{ msg, id string }{
		{"request failed", failedID},
		{"security", badTokenID},
		{"security", deniedID},
		{"admin action: projections rebuild", rebuildID},
	} {
		l := find(lines, want.msg, want.id)
		if l == nil {
			t.Errorf("no %q line with request_id %s in the injected logger's output", want.msg, want.id)
			continue
		}
		ts, _ := l["time"].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") {
			t.Errorf("%q: time %q is not an RFC 3339 UTC time (%v)", want.msg, ts, err)
		}
	}
	if l := find(lines, "access denied", deniedID); l != nil && (l["role"] != "company" || l["subject"] != siren) {
		t.Errorf("access denied line lacks who was refused: %v", l)
	}
	if l := find(lines, "admin action: projections rebuild", rebuildID); l != nil && l["subject"] != "admin-7" {
		t.Errorf("admin audit line lacks the admin: %v", l)
	}
	if l := find(lines, "request failed", failedID); l != nil && !strings.Contains(fmt.Sprint(l["err"]), "disk on fire") {
		t.Errorf("the 500 line lacks its cause: %v", l)
	}
	global.mu.Lock()
	defer global.mu.Unlock()
	if global.buf.Len() > 0 {
		t.Errorf("the global logger was used:\n%s", global.buf.String())
	}
}
