package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The service's log lines are JSON with a UTC RFC 3339 time whatever the
// zone of the record's time, and --log-level drops the lines below it.
func TestLoggerWritesUTCJSONAtItsLevel(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLoggerTo(&buf, "warn")
	if err != nil {
		t.Fatal(err)
	}
	// A record stamped in Paris summer time (the process's local zone in
	// production may be anything).
	paris := time.FixedZone("CEST", 2*3600)
	at := time.Date(2020, 4, 2, 11, 14, 7, 123456789, paris)
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if !log.Enabled(context.Background(), level) {
			continue
		}
		r := slog.NewRecord(at, level, "checkpoint lag", 0)
		r.AddAttrs(slog.Group("job", slog.Time("time", at)))
		if err := log.Handler().Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("at level warn, want the warn and error lines, got %d:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"WARN", "ERROR"} {
		var line struct {
			Time  string `json:"time"`
			Level string `json:"level"`
			Job   struct {
				Time string `json:"time"`
			} `json:"job"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, lines[i])
		}
		if line.Level != want {
			t.Errorf("line %d: level %s, want %s", i, line.Level, want)
		}
		if line.Time != "2020-04-02T09:14:07.123456789Z" {
			t.Errorf("line %d: time %q, want the UTC instant 2020-04-02T09:14:07.123456789Z", i, line.Time)
		}
		// An attribute of a group that happens to be called time is data,
		// left as given.
		if line.Job.Time != "2020-04-02T11:14:07.123456789+02:00" {
			t.Errorf("line %d: job.time %q was rewritten", i, line.Job.Time)
		}
	}
	if _, err := newLoggerTo(&buf, "verbose"); err == nil {
		t.Error("log level verbose accepted")
	}
}
