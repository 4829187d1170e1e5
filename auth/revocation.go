package auth

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// ErrRevoked is the error of a token whose id (jti) was revoked; it
// matches ErrUnauthenticated.
var ErrRevoked = fmt.Errorf("%w: token revoked", ErrUnauthenticated)

// Revocation is one revoked token id.
//
// WARNING: the JSON names are a public contract (GET /v1/revocations) and
// a persisted one (the revocations bucket).
type Revocation struct {
	// JTI is the revoked token's id.
	JTI string `json:"jti"`
	// Until is when the revocation may be forgotten: the token's expiry
	// (a token past it is refused anyway).
	Until time.Time `json:"until"`
	// RevokedAt is when it was revoked.
	RevokedAt time.Time `json:"revokedAt"`
	// By is who revoked it ("admin:alice").
	By string `json:"by"`
	// Reason is optional free text.
	Reason string `json:"reason,omitempty"`
}

// MaxJTI is the longest token id that can be revoked.
const MaxJTI = 256

// ValidateRevocation checks a revocation's token id and expiry.
func ValidateRevocation(r Revocation, now time.Time) error {
	if r.JTI == "" || len(r.JTI) > MaxJTI || strings.ContainsFunc(r.JTI, func(c rune) bool { return c < 0x21 || c == 0x7f }) {
		return errs.Errorf(errs.Invalid, "jti must be 1 to %d printable characters without spaces", MaxJTI)
	}
	if !r.Until.After(now) {
		return errs.Errorf(errs.Invalid, "until %s is not in the future: the token has expired, there is nothing to revoke", r.Until.UTC().Format(time.RFC3339))
	}
	if len(r.Reason) > 512 {
		return errs.New(errs.Invalid, "reason must be at most 512 bytes")
	}
	return nil
}

// RevocationList is the set of revoked token ids an instance knows, kept
// up to date from the cluster (jetstream.Revocations.Watch) and read on
// every request. It is safe for concurrent use.
type RevocationList struct {
	mu      sync.RWMutex
	revoked map[string]Revocation
	now     func() time.Time
}

// NewRevocationList returns an empty list.
func NewRevocationList() *RevocationList {
	return &RevocationList{revoked: map[string]Revocation{}, now: time.Now}
}

// Add records a revocation.
func (l *RevocationList) Add(r Revocation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.revoked[r.JTI] = r
	// Forget what expired, so that the list does not grow for ever.
	now := l.now()
	for k, v := range l.revoked {
		if now.After(v.Until.Add(time.Minute)) {
			delete(l.revoked, k)
		}
	}
}

// Revoked reports whether the token id jti is revoked.
func (l *RevocationList) Revoked(jti string) bool {
	if jti == "" {
		return false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.revoked[jti]
	return ok
}

// List returns the revocations still in force, oldest first.
func (l *RevocationList) List() []Revocation {
	l.mu.RLock()
	now := l.now()
	out := make([]Revocation, 0, len(l.revoked))
	for _, r := range l.revoked {
		if now.Before(r.Until) {
			out = append(out, r)
		}
	}
	l.mu.RUnlock()
	slices.SortFunc(out, func(a, b Revocation) int {
		if c := a.RevokedAt.Compare(b.RevokedAt); c != 0 {
			return c
		}
		return strings.Compare(a.JTI, b.JTI)
	})
	return out
}

// Revoking wraps a verifier: a token it accepts whose id is in list is
// refused with ErrRevoked.
func Revoking(v Verifier, list *RevocationList) Verifier {
	return revoking{v: v, list: list}
}

type revoking struct {
	v    Verifier
	list *RevocationList
}

func (r revoking) Verify(token string) (Principal, error) {
	p, err := r.v.Verify(token)
	if err != nil {
		return p, err
	}
	if r.list.Revoked(p.TokenID) {
		return Principal{}, fmt.Errorf("%w (jti %s)", ErrRevoked, p.TokenID)
	}
	return p, nil
}
