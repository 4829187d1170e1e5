package app

import (
	"context"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/provenance"
	"github.com/attestation-ledger/attestation-ledger/journal"
)

// provenanceFrom is the deployment setting: the first position whose event
// must carry provenance (the events before were written by versions that
// did not make it, and the signed checkpoints vouch for them).
//
// WARNING: persisted; never rename it.
const provenanceFrom = "provenance-from"

// openProvenance builds the keyring of the deployment's provenance keys
// (signing with current, verifying with all) and
// fixes, once for the whole deployment, the position from which every event
// must carry provenance; it counts and logs every event that does not
// verify.
func (a *App) openProvenance(ctx context.Context, current provenance.Key, older ...provenance.Key) (*provenance.Keyring, error) {
	k, err := provenance.NewKeyring(current, older...)
	if err != nil {
		return nil, err
	}
	settings, err := a.Store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	head, err := a.Store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("open provenance: %w", err)
	}
	from, err := settings.Claim(ctx, provenanceFrom, strconv.FormatUint(head+1, 10))
	if err != nil {
		return nil, fmt.Errorf("open provenance: %w", err)
	}
	n, err := strconv.ParseUint(from, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("open provenance: setting %s is %q", provenanceFrom, from)
	}
	k.TrustUnsignedBefore(n)
	k.OnUntrusted(func(env eventstore.Envelope, err error) {
		a.log.Error("SECURITY: an event of the store was not written by the ledger; it is kept as evidence and used by nothing",
			"position", env.Position, "stream", env.Stream, "type", env.Type, "id", env.ID, "err", err)
		if j := a.journalOf.Load(); j != nil {
			_ = j.Record(journal.Entry{Action: journal.EventUntrusted, Result: journal.Denied, Subject: "ledger",
				Object: strconv.FormatUint(env.Position, 10), Detail: map[string]string{"stream": env.Stream, "type": env.Type}})
		}
	})
	untrusted := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ledger_untrusted_events_total",
		Help: "Events of the store whose provenance does not verify (forged or altered); none is used.",
	}, func() float64 { n, _ := k.Untrusted(); return float64(n) })
	if err := a.Registry.Register(untrusted); err != nil {
		return nil, err
	}
	return k, nil
}

// Provenance returns the keyring that proves the events this deployment
// writes.
func (a *App) Provenance() *provenance.Keyring { return a.provenance }
