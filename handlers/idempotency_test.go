package handlers

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
)

func keyedMeta(hash string) Meta {
	return Meta{Actor: domain.Actor{Role: domain.RoleBank, ID: "30004"}, IdempotencyKey: "key-1", RequestHash: hash}
}

// The ids derived from a key are persisted in streams (a retry is
// recognised by them) and in the register: their form is frozen.
func TestIdempotencyDerivationsAreFrozen(t *testing.T) {
	i := newIdempotency(keyedMeta("hash-1"), "company-732829320", nil)
	ids := i.eventIDs(2, time.Now())
	if ids[0] != "idem-9ac568c578d18e584065b764-0" || ids[1] != "idem-9ac568c578d18e584065b764-1" {
		t.Errorf("event ids %v", ids)
	}
	if c := i.causationID(time.Now()); c != "cmd-bc3d0459469bf24a62cb5a79bc028682" {
		t.Errorf("causation id %s", c)
	}
	if k := i.keyID(); k != "85a2fb6b95d95e15c0496fe9cf7e8989ac00ee25eaeca065d0fa736705162a58" {
		t.Errorf("key id %s", k)
	}
	// Another stream: other event ids, same causation.
	j := newIdempotency(keyedMeta("hash-1"), "company-552100554", nil)
	if j.eventIDs(1, time.Now())[0] == ids[0] || j.causationID(time.Now()) != i.causationID(time.Now()) {
		t.Error("event ids must depend on the stream, the causation id must not")
	}
	// Without a key: fresh ids every time.
	f := newIdempotency(Meta{Actor: domain.Actor{Role: domain.RoleBank, ID: "30004"}}, "company-732829320", nil)
	a, b := f.eventIDs(2, time.Now()), f.eventIDs(2, time.Now())
	c1, c2 := f.causationID(time.Now()), f.causationID(time.Now())
	if a[0] == b[0] || a[0] == a[1] || c1 == c2 {
		t.Errorf("ids without a key are not fresh: %v %v", a, b)
	}
}

// A command found in its stream is replayed up to its last event (later
// events left out); found with another input, it is a mismatch; a stream
// without it, or a command without a key, replays nothing.
func TestIdempotencyReplay(t *testing.T) {
	i := newIdempotency(keyedMeta("hash-1"), "company-732829320", nil)
	ids, cause := i.eventIDs(2, time.Time{}), i.causationID(time.Time{})
	e1, e2, e3 := domain.LoanRequestSubmitted{RequestID: "r1"}, domain.LoanRequestAssessed{RequestID: "r1"}, domain.LoanRequestSubmitted{RequestID: "r2"}
	l := loaded{
		envelopes: []eventstore.Envelope{
			{ID: "other-0", Position: 3, CausationID: "cmd-x"},
			{ID: ids[0], Position: 7, CausationID: cause},
			{ID: ids[1], Position: 8, CausationID: cause},
			{ID: "later-0", Position: 12, CausationID: "cmd-y"},
		},
		events: []domain.Event{e3, e1, e2, e3},
	}
	out, done, err := i.replay(l)
	if err != nil || !done || !out.Replayed || out.Position != 8 || len(out.Events) != 3 || out.FirstEvent != e1 {
		t.Fatalf("replay: %+v %v %v", out, done, err)
	}
	other := newIdempotency(keyedMeta("hash-2"), "company-732829320", nil)
	if _, _, err := other.replay(l); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Fatalf("key reused with another input: %v", err)
	}
	if _, done, err := i.replay(loaded{}); done || err != nil {
		t.Fatalf("empty stream: %v %v", done, err)
	}
	none := newIdempotency(Meta{}, "company-732829320", nil)
	if _, done, err := none.replay(l); done || err != nil {
		t.Fatalf("no key: %v %v", done, err)
	}
}

// The key is claimed once per command, in the real register; a key
// claimed with another input is a mismatch.
func TestIdempotencyClaim(t *testing.T) {
	store := openTestStore(t)
	keys, err := store.IdempotencyKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	i := newIdempotency(keyedMeta("hash-1"), "company-732829320", keys)
	if err := i.claim(ctx); err != nil || !i.claimed {
		t.Fatalf("claim: %v", err)
	}
	if err := i.claim(ctx); err != nil {
		t.Fatalf("second claim by the same command: %v", err)
	}
	j := newIdempotency(keyedMeta("hash-2"), "company-552100554", keys)
	if err := j.claim(ctx); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Fatalf("the key with another input: %v", err)
	}
	none := newIdempotency(Meta{}, "company-732829320", nil)
	if err := none.claim(ctx); err != nil {
		t.Fatalf("no key: %v", err)
	}
}

// openTestStore opens a real embedded store in a temp dir.
func openTestStore(t *testing.T) *jetstream.Store {
	t.Helper()
	store, err := jetstream.Open(context.Background(), jetstream.Config{DataDir: filepath.Join(t.TempDir(), "js")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}
