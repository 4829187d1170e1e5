package projections

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// The Subscriber delivers the log in order from its start position, one
// batch at a time, and delivers a nacked batch again.
func TestSubscriberDeliversInOrderAndRedeliversNacked(t *testing.T) {
	store := newTestStore(t)
	h := newHistory(t, store, 10)
	h.run(t.Context(), 30)
	head, _ := store.Head(t.Context())
	sub, err := NewSubscriber(SubscriberConfig{
		Store: store, From: func(context.Context) (uint64, error) { return 5, nil },
		MaxBatch: 7, RedeliveryDelay: time.Millisecond, Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	msgs, err := sub.Subscribe(ctx, LogTopic)
	if err != nil {
		t.Fatal(err)
	}
	next, nacked := uint64(5), false
	for next <= head {
		msg := <-msgs
		b, ok := BatchFromMessage(msg)
		if !ok || b.From() != next || len(b.Items) > 7 || msg.Metadata.Get(MetadataFrom) != strconv.FormatUint(next, 10) {
			t.Fatalf("batch %+v, want one from %d", msg.Metadata, next)
		}
		for i, it := range b.Items {
			if it.Envelope.Position != next+uint64(i) || it.Err != nil || it.Event == nil {
				t.Fatalf("item %d: position %d, err %v", i, it.Envelope.Position, it.Err)
			}
		}
		if !nacked && b.From() > 10 {
			nacked = true
			msg.Nack()
			continue // the same batch comes again
		}
		msg.Ack()
		next = b.To() + 1
	}
	if !nacked {
		t.Fatal("no batch was nacked")
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-msgs; ok {
		t.Fatal("the channel stays open after Close")
	}
	var _ message.Subscriber = sub
}

// Configuration problems are all reported at once.
func TestConfigValidate(t *testing.T) {
	err := Config{MaxBatch: -1, BusyTimeout: -time.Second}.Validate()
	for _, want := range []string{"Dir", "Store", "MaxBatch", "BusyTimeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want a problem with %s", err, want)
		}
	}
	if _, err := Open(t.Context(), Config{}); err == nil {
		t.Error("Open with no configuration succeeded")
	}
	c := Config{Dir: "x", Store: newTestStore(t)}
	c.setDefaults()
	if err := c.Validate(); err != nil || c.MaxBatch != 2048 || c.MaxRetries != 3 || c.Logger == nil {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	if _, err := NewSubscriber(SubscriberConfig{}); err == nil || !strings.Contains(err.Error(), "From") {
		t.Errorf("subscriber without store and start: %v", err)
	}
}

// Open names the file in use in CURRENT, and deletes the file a rebuild
// left behind when it did not get to swap it in.
func TestOpenKeepsCurrentAndRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	store := newTestStore(t)
	rm := openRM(t, dir, store, nil)
	name := rm.cur.Load().name
	if err := rm.Close(); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, genName(7))
	if err := os.WriteFile(leftover, []byte("half a rebuild"), 0o644); err != nil {
		t.Fatal(err)
	}
	rm = openRM(t, dir, store, nil)
	if rm.cur.Load().name != name {
		t.Errorf("reopened %s, want %s", rm.cur.Load().name, name)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover still there: %v", err)
	}
	if err := rm.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rm.Company(t.Context(), "732829320"); !errors.Is(err, ErrClosed) {
		t.Errorf("query after Close: %v", err)
	}
}
