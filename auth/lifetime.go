package auth

import (
	"fmt"
	"strings"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Lifetimes are the maximum lifetimes (exp - iat) of the server's own
// tokens, by role: a token asking for more is not issued, and a token
// carrying more (signed by a copy of the key, or by an older version) is
// refused. The most powerful role has the shortest.
type Lifetimes map[domain.Role]time.Duration

// DefaultLifetimes are the maximum lifetimes of tokens unless configured
// (--token-lifetimes): an admin token 1 hour, an auditor's or a
// regulator's 8 hours (a working day), a bank's or a company's 24 hours
// (a machine client renews daily).
func DefaultLifetimes() Lifetimes {
	return Lifetimes{
		domain.RoleAdmin:     time.Hour,
		domain.RoleAuditor:   8 * time.Hour,
		domain.RoleRegulator: 8 * time.Hour,
		domain.RoleBank:      24 * time.Hour,
		domain.RoleCompany:   24 * time.Hour,
	}
}

// Max returns the maximum lifetime of a token of role (0 for an unknown
// role: no token).
func (l Lifetimes) Max(role domain.Role) time.Duration {
	if l == nil {
		return DefaultLifetimes()[role]
	}
	return l[role]
}

// Longest returns the longest lifetime of any role: how long a revocation
// must be kept when the token's own expiry is not known.
func (l Lifetimes) Longest() time.Duration {
	var m time.Duration
	for _, r := range []domain.Role{domain.RoleCompany, domain.RoleBank, domain.RoleAuditor, domain.RoleRegulator, domain.RoleAdmin} {
		m = max(m, l.Max(r))
	}
	return m
}

// String returns the lifetimes in the form ParseLifetimes reads.
func (l Lifetimes) String() string {
	var parts []string
	for _, r := range []domain.Role{domain.RoleAdmin, domain.RoleAuditor, domain.RoleRegulator, domain.RoleBank, domain.RoleCompany} {
		parts = append(parts, fmt.Sprintf("%s=%s", r, l.Max(r)))
	}
	return strings.Join(parts, ",")
}

// ParseLifetimes reads "role=duration,..." (for example
// "admin=30m,bank=12h") over the defaults: roles not named keep their
// default. An unknown role, a duration that is not positive, or one
// longer than 30 days is refused.
func ParseLifetimes(s string) (Lifetimes, error) {
	l := DefaultLifetimes()
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		role, known := domain.ParseRole(strings.TrimSpace(name))
		if !ok || !known {
			return nil, errs.Errorf(errs.Invalid, "token lifetimes %q: want role=duration, role one of admin, auditor, regulator, bank, company", part)
		}
		d, err := time.ParseDuration(strings.TrimSpace(val))
		if err != nil || d <= 0 || d > 30*24*time.Hour {
			return nil, errs.Errorf(errs.Invalid, "token lifetimes %q: want a duration from 1s to 720h", part)
		}
		l[role] = d
	}
	return l, nil
}
