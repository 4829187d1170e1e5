package jetstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// RevocationsBucket is the key-value bucket of revoked token ids, shared
// by every instance of a deployment: each watches it and refuses a
// revoked token within moments of its revocation. Each entry lives until
// the revocation's Until (a per-key TTL), then the bucket forgets it.
//
// WARNING: persisted; never rename it.
const RevocationsBucket = "LEDGER_REVOCATIONS"

// Revocations is the cluster's list of revoked token ids. It is safe for
// concurrent use.
type Revocations struct {
	kv  njs.KeyValue
	log *slog.Logger
}

// Revocations opens the list of revoked tokens, creating its bucket (with
// the ledger stream's replicas) if needed.
func (s *Store) Revocations(ctx context.Context) (*Revocations, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, njs.KeyValueConfig{
		Bucket:      RevocationsBucket,
		Description: "attestation ledger: revoked token ids, each until its token expires",
		History:     1,
		Storage:     njs.FileStorage,
		Replicas:    s.replicas(),
		// Per-key TTLs, so that a revocation is forgotten once its token
		// has expired; the delete marker is kept a minute.
		LimitMarkerTTL: time.Minute,
		MaxValueSize:   4 << 10,
	})
	if err != nil {
		return nil, fmt.Errorf("open revocations: %w", translate(err))
	}
	return &Revocations{kv: kv, log: s.cfg.Logger}, nil
}

// revocationKey is the bucket key of a token id: a hash, since a jti may
// hold characters a key may not.
func revocationKey(jti string) string {
	h := sha256.Sum256([]byte(jti))
	return "jti." + hex.EncodeToString(h[:])
}

// Revoke records r in the cluster until r.Until. A token id already
// revoked stays revoked (until its first revocation's end, which is the
// token's expiry too); it is not an error.
func (r *Revocations) Revoke(ctx context.Context, rev auth.Revocation) error {
	b, err := json.Marshal(rev)
	if err != nil {
		return fmt.Errorf("revoke %s: %w", rev.JTI, err)
	}
	// A second more than asked, and at least the TTL JetStream accepts.
	ttl := max(time.Until(rev.Until)+time.Second, time.Second)
	if _, err := r.kv.Create(ctx, revocationKey(rev.JTI), b, njs.KeyTTL(ttl)); err != nil && !isKeyConflict(err) {
		return fmt.Errorf("revoke %s: %w", rev.JTI, translate(err))
	}
	return nil
}

// Watch feeds list with every revocation of the cluster, those recorded
// so far and then each new one as it is made, until ctx is done. It
// returns once the ones recorded so far are in list, so that a service
// started after a revocation never accepts the revoked token.
func (r *Revocations) Watch(ctx context.Context, list *auth.RevocationList) error {
	w, err := r.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch revocations: %w", translate(err))
	}
	// Until the initial values are in: the end of the backlog is a nil.
	for {
		select {
		case <-ctx.Done():
			_ = w.Stop()
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch revocations: the watcher stopped")
			}
			if e == nil {
				go r.follow(ctx, w, list)
				return nil
			}
			r.apply(e, list)
		}
	}
}

// follow applies the revocations made after Watch returned.
func (r *Revocations) follow(ctx context.Context, w njs.KeyWatcher, list *auth.RevocationList) {
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil {
				r.apply(e, list)
			}
		}
	}
}

// apply adds one entry of the bucket to list; the delete markers of
// expired entries are ignored (list forgets them by itself).
func (r *Revocations) apply(e njs.KeyValueEntry, list *auth.RevocationList) {
	if e.Operation() != njs.KeyValuePut {
		return
	}
	var rev auth.Revocation
	if err := json.Unmarshal(e.Value(), &rev); err != nil || rev.JTI == "" {
		r.log.Warn("revocations: an entry is not a revocation; ignored", "key", e.Key(), "err", err)
		return
	}
	list.Add(rev)
}
