package journal

import (
	"context"
	"fmt"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Bounds of a Scan.
const (
	// MaxScan bounds the entries one Scan reads: a security report covers
	// a period, not a year of a busy deployment in one call.
	MaxScan = 2_000_000
	// scanSlack widens the stream-time window of a Scan on both sides: an
	// entry is stored a little after it was recorded (queued, batched,
	// spilled for a while when the stream was slow), and its own Time is
	// what the period is about.
	scanSlack = 10 * time.Minute
)

// Scan calls fn with every entry the journal still holds whose Time is in
// [from, to), in the order of their positions, with its leaf (the bytes
// hashed into the journal's tree: tlog.RecordHash(leaf) is its leaf
// hash). It reads the stream from its messages stored since from −
// 10 minutes and stops past to + 10 minutes (an entry spilled to disk
// for longer than that around the period's edges is not seen). It fails
// with errs.TooLarge when more than MaxScan entries would be read.
func (j *Journal) Scan(ctx context.Context, from, to time.Time, fn func(r Record, leaf []byte) error) error {
	if !from.Before(to) {
		return errs.Errorf(errs.Invalid, "journal scan: from %s is not before to %s", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	cons, err := j.js.OrderedConsumer(ctx, StreamName, njs.OrderedConsumerConfig{
		DeliverPolicy: njs.DeliverByStartTimePolicy, OptStartTime: ptr(from.Add(-scanSlack)),
	})
	if err != nil {
		return errs.Wrap(errs.Unavailable, fmt.Errorf("journal scan: %w", err))
	}
	info := cons.CachedInfo()
	if info == nil || info.NumPending == 0 {
		return nil
	}
	stop := to.Add(scanSlack)
	pending, read := info.NumPending, uint64(0)
	for pending > 0 {
		batch, release, err := fetch(ctx, cons, int(min(pending, 1024)), 2*time.Second)
		if err != nil {
			return errs.Wrap(errs.Unavailable, fmt.Errorf("journal scan: %w", err))
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				release()
				return fmt.Errorf("journal scan: %w", err)
			}
			pending = md.NumPending
			if md.Timestamp.After(stop) {
				release()
				return nil
			}
			if read++; read > MaxScan {
				release()
				return errs.Errorf(errs.TooLarge, "journal scan: more than %d entries from %s; narrow the period", MaxScan, from.UTC().Format(time.RFC3339))
			}
			e, err := decode(m.Data())
			if err != nil {
				release()
				return fmt.Errorf("journal scan: the entry at position %d: %w", md.Sequence.Stream, err)
			}
			if e.Time.Before(from) || !e.Time.Before(to) {
				continue
			}
			leaf, err := Leaf(md.Sequence.Stream, m.Data())
			if err != nil {
				release()
				return err
			}
			if err := fn(Record{Position: md.Sequence.Stream, Entry: e}, leaf); err != nil {
				release()
				return err
			}
		}
		release()
		if err := batch.Error(); err != nil && got == 0 {
			return errs.Wrap(errs.Unavailable, fmt.Errorf("journal scan: %w", err))
		}
		if got == 0 {
			return errs.Errorf(errs.Unavailable, "journal scan: no entry within 2s with %d pending", pending)
		}
	}
	return nil
}

// Retention returns how long the journal keeps its entries.
func (j *Journal) Retention() time.Duration { return j.cfg.Retention }

func ptr[T any](v T) *T { return &v }
