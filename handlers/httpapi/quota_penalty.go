package httpapi

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/attestation-ledger/attestation-ledger/auth"
)

// The penalty box: a token whose principal is out of its rate is refused
// before its signature is checked until the principal's bucket refills,
// so that a flood with one token costs the server no signature check per
// request (an Ed25519 verification is some 100 µs on a loaded core).

// penalty is a token refused on its principal's rate until until.
type penalty struct {
	role, key string
	until     time.Time
}

// maxPenalties bounds the tokens held in the penalty box.
const maxPenalties = 100_000

// rateRefusal is a refusal on the rate, which holds until until.
type rateRefusal struct {
	until time.Time
	err   error
}

func (e *rateRefusal) Error() string { return e.err.Error() }
func (e *rateRefusal) Unwrap() error { return e.err }

// enterToken is enter for a verified token's principal: refused on its
// rate, the token goes into the penalty box until its bucket refills, so
// that its next requests are refused before their signature is checked
// (penalized).
func (s *Server) enterToken(r *http.Request, p auth.Principal, token string) (release func(), err error) {
	release, err = s.enter(r, string(p.Role), p.Subject)
	var rr *rateRefusal
	if errors.As(err, &rr) {
		s.quota.penalize(token, string(p.Role), p.Subject, rr.until)
	}
	return release, err
}

// penalize puts a token in the penalty box until until.
func (l *limiter) penalize(token, role, key string, until time.Time) {
	h := sha256.Sum256([]byte(token))
	l.penaltyMu.Lock()
	defer l.penaltyMu.Unlock()
	if len(l.penalties) >= maxPenalties {
		now := l.now()
		for k, p := range l.penalties {
			if !now.Before(p.until) {
				delete(l.penalties, k)
			}
		}
		if len(l.penalties) >= maxPenalties {
			return
		}
	}
	l.penalties[h] = penalty{role: role, key: key, until: until}
}

// penalized returns errThrottled, counted and logged as any refusal, for a
// token in the penalty box: its principal's bucket is still empty, so the
// request would be refused after the signature check anyway.
func (l *limiter) penalized(r *http.Request, token string) error {
	if l.q.Disabled {
		return nil
	}
	h := sha256.Sum256([]byte(token))
	l.penaltyMu.Lock()
	p, ok := l.penalties[h]
	if ok && !l.now().Before(p.until) {
		delete(l.penalties, h)
		ok = false
	}
	l.penaltyMu.Unlock()
	if !ok {
		return nil
	}
	return l.refuse(r, p.role, p.key, "rate")
}
