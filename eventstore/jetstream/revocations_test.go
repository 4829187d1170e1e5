package jetstream_test

import (
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/auth"
)

// Revocations are watched into a list (those made before the watch, then
// each new one), and the bucket forgets each when its token expires, so
// the list does not grow for ever.
func TestRevocationsAreWatchedAndPruned(t *testing.T) {
	s := openStore(t, t.TempDir())
	r, err := s.Revocations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	short := auth.Revocation{JTI: "short-lived", Until: now.Add(2 * time.Second), RevokedAt: now, By: "admin:a"}
	long := auth.Revocation{JTI: "long lived/with:odd chars", Until: now.Add(time.Hour), RevokedAt: now, By: "admin:a"}
	for _, rev := range []auth.Revocation{short, long, long} { // a second revocation is no error
		if err := r.Revoke(t.Context(), rev); err != nil {
			t.Fatal(err)
		}
	}
	before := auth.NewRevocationList()
	if err := r.Watch(t.Context(), before); err != nil {
		t.Fatal(err)
	}
	if !before.Revoked(short.JTI) || !before.Revoked(long.JTI) {
		t.Fatalf("the watch did not load the revocations made before it: %+v", before.List())
	}
	// A new revocation reaches the watching list.
	later := auth.Revocation{JTI: "later", Until: now.Add(time.Hour), RevokedAt: now, By: "admin:b"}
	if err := r.Revoke(t.Context(), later); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !before.Revoked(later.JTI) {
		if time.Now().After(deadline) {
			t.Fatal("a new revocation did not reach the watching list in 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Until(short.Until) + 2*time.Second)
	after := auth.NewRevocationList()
	if err := r.Watch(t.Context(), after); err != nil {
		t.Fatal(err)
	}
	if after.Revoked(short.JTI) || !after.Revoked(long.JTI) || !after.Revoked(later.JTI) {
		t.Fatalf("after the short one's expiry the bucket holds %+v", after.List())
	}
	for _, l := range before.List() {
		if l.JTI == short.JTI {
			t.Fatal("an expired revocation is still listed")
		}
	}
}
