package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// LeasesBucket is the key-value bucket of the deployment's leases: work
// that exactly one instance does at a time (publishing checkpoints).
//
// WARNING: persisted; never rename it.
const LeasesBucket = "LEDGER_LEASES"

// Lease is one named lease of the deployment, held by at most one holder
// at a time: a key of the leases bucket whose value names the holder. The
// bucket's MaxAge is the lease's time to live: a holder that stops renewing
// (it crashed, or lost the cluster) loses the lease when its entry expires,
// and another may take it. Every renewal is a compare-and-set on the key's
// revision, which serves as the fencing token: a holder whose renewal
// fails has lost the lease, whatever it believed.
//
// A Lease is used by one goroutine at a time.
type Lease struct {
	kv     njs.KeyValue
	name   string
	holder string
	rev    uint64 // the revision this holder last wrote; 0 when not held
	until  time.Time
	ttl    time.Duration
}

// Lease opens the lease name for holder (a unique name of this instance).
// ttl is how long the lease outlives its holder's last renewal; it must be
// the same for every instance (it is the bucket's setting).
func (s *Store) Lease(ctx context.Context, name, holder string, ttl time.Duration) (*Lease, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	if !keyPattern.MatchString(name) || holder == "" {
		return nil, fmt.Errorf("lease %q for %q: %w: bad name or holder", name, holder, eventstore.ErrInvalidStream)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, njs.KeyValueConfig{
		Bucket:      LeasesBucket,
		Description: "attestation ledger: leases of work one instance does at a time",
		History:     1,
		TTL:         ttl,
		Storage:     njs.FileStorage,
		Replicas:    s.replicas(),
	})
	if err != nil {
		return nil, fmt.Errorf("open lease %s: %w", name, translate(err))
	}
	return &Lease{kv: kv, name: name, holder: holder, ttl: ttl}, nil
}

// Acquire takes the lease if it is free, or renews it if this holder has
// it, and reports whether this holder now holds it and its fencing token
// (the key's revision). Call it more often than the ttl (a third of it is
// usual) to keep the lease.
func (l *Lease) Acquire(ctx context.Context) (held bool, token uint64, err error) {
	if l.rev != 0 {
		rev, err := l.kv.Update(ctx, l.name, []byte(l.holder), l.rev)
		if err == nil {
			l.rev, l.until = rev, time.Now().Add(l.ttl)
			return true, rev, nil
		}
		// Lost: the entry expired, or another holder took it.
		l.rev = 0
		if !isKeyConflict(err) {
			return false, 0, fmt.Errorf("renew lease %s: %w", l.name, translate(err))
		}
	}
	rev, err := l.kv.Create(ctx, l.name, []byte(l.holder))
	if err == nil {
		l.rev, l.until = rev, time.Now().Add(l.ttl)
		return true, rev, nil
	}
	if isKeyConflict(err) {
		return false, 0, nil
	}
	return false, 0, fmt.Errorf("acquire lease %s: %w", l.name, translate(err))
}

// Held reports whether this holder's last renewal is recent enough that
// the lease cannot have expired yet (by this process's clock, with the
// lease's ttl), and the fencing token.
func (l *Lease) Held() (bool, uint64) {
	if l.rev == 0 || time.Now().After(l.until) {
		return false, 0
	}
	return true, l.rev
}

// Holder returns the name of the current holder, or "" when the lease is
// free.
func (l *Lease) Holder(ctx context.Context) (string, error) {
	e, err := l.kv.Get(ctx, l.name)
	if errors.Is(err, njs.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lease %s: %w", l.name, translate(err))
	}
	return string(e.Value()), nil
}

// Release gives the lease up if this holder has it, so that another may
// take it at once rather than after the ttl.
func (l *Lease) Release(ctx context.Context) error {
	if l.rev == 0 {
		return nil
	}
	rev := l.rev
	l.rev = 0
	if err := l.kv.Delete(ctx, l.name, njs.LastRevision(rev)); err != nil && !isKeyConflict(err) {
		return fmt.Errorf("release lease %s: %w", l.name, translate(err))
	}
	return nil
}

// isKeyConflict reports whether a compare-and-set on a key failed because
// the key is not at the expected revision (or exists, for Create).
func isKeyConflict(err error) bool {
	if errors.Is(err, njs.ErrKeyExists) {
		return true
	}
	code, ok := apiCode(err)
	return ok && (code == codeWrongLastSequence || code == codeWrongLastSequenceConstant)
}
