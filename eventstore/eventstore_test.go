package eventstore_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

func TestExpectedVersion(t *testing.T) {
	for _, tc := range []struct {
		exp     eventstore.ExpectedVersion
		matches []uint64
		refuses []uint64
		str     string
	}{
		{eventstore.Any(), []uint64{0, 1, 7}, nil, "any version"},
		{eventstore.NoStream(), []uint64{0}, []uint64{1, 2}, "no stream"},
		{eventstore.Exact(0), []uint64{0}, []uint64{1}, "no stream"},
		{eventstore.Exact(3), []uint64{3}, []uint64{0, 2, 4}, "version 3"},
	} {
		for _, v := range tc.matches {
			if !tc.exp.Matches(v) {
				t.Errorf("%s does not match %d", tc.exp, v)
			}
		}
		for _, v := range tc.refuses {
			if tc.exp.Matches(v) {
				t.Errorf("%s matches %d", tc.exp, v)
			}
		}
		if tc.exp.String() != tc.str {
			t.Errorf("String() = %q, want %q", tc.exp.String(), tc.str)
		}
	}
	if !eventstore.Any().IsAny() || eventstore.NoStream().IsAny() {
		t.Error("IsAny")
	}
	if v, ok := eventstore.Exact(5).Version(); !ok || v != 5 {
		t.Error("Exact(5).Version()")
	}
	if _, ok := eventstore.Any().Version(); ok {
		t.Error("Any().Version() has a version")
	}
}

func TestStreams(t *testing.T) {
	if err := eventstore.ValidateStream("company-732829320"); err != nil {
		t.Fatal(err)
	}
	if err := eventstore.ValidateStream("company.732829320"); !errors.Is(err, eventstore.ErrInvalidStream) {
		t.Fatalf("dotted stream: %v", err)
	}
	if c, id := eventstore.SplitStream("company_profile-a-b"); c != "company_profile" || id != "a-b" {
		t.Fatalf("split: %q %q", c, id)
	}
	if s := eventstore.Stream("company", "1"); s != "company-1" {
		t.Fatal(s)
	}
}

func TestValidateAppend(t *testing.T) {
	ok := eventstore.NewEvent{ID: "a", Type: "x.y", SchemaVersion: 1, OccurredAt: time.Unix(1, 0), Data: json.RawMessage(`{}`)}
	if err := eventstore.ValidateAppend("company-1", []eventstore.NewEvent{ok}); err != nil {
		t.Fatal(err)
	}
	big := ok
	big.Data = json.RawMessage(`"` + strings.Repeat("a", eventstore.MaxEventSize) + `"`)
	for name, tc := range map[string]struct {
		stream string
		events []eventstore.NewEvent
		want   error
	}{
		"bad stream":   {"company", []eventstore.NewEvent{ok}, eventstore.ErrInvalidStream},
		"no events":    {"company-1", nil, eventstore.ErrInvalidEvent},
		"too many":     {"company-1", make([]eventstore.NewEvent, eventstore.MaxAppendEvents+1), eventstore.ErrInvalidEvent},
		"duplicate id": {"company-1", []eventstore.NewEvent{ok, ok}, eventstore.ErrInvalidEvent},
		"too large":    {"company-1", []eventstore.NewEvent{big}, eventstore.ErrEventTooLarge},
	} {
		if err := eventstore.ValidateAppend(tc.stream, tc.events); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
