package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// maxNumberDraws bounds the numbers drawn for one command: a number the
// company already holds is a domain conflict, and the command draws again
// (75 random bits: never in practice).
const maxNumberDraws = 4

// indexTimeout bounds one index write made after a command answered.
const indexTimeout = 30 * time.Second

// issuing runs a change that may issue an attestation under a fresh number
// and, once its events are appended, indexes the number it issued (number
// → company stream) in the attestation index.
//
// The index is written after the append and not waited for: a second
// durable write before the acknowledgement cost a third of the loan
// requests per second (measured: 0.62-0.68 of the throughput with the
// claim before the append, 0.80 with both at once). An attestation whose
// entry is not written yet, was lost in a crash, or predates the index is
// found through the read models instead (companyOfAttestation), which
// answer for anything recorded before the call.
func (h *Commands) issuing(ctx context.Context, siren domain.SIREN, meta Meta, usedHere bool,
	decide func(c *domain.Company, now time.Time, n domain.AttestationNumber) ([]domain.Event, error)) (Outcome, error) {
	for draw := 0; ; draw++ {
		n, err := domain.GenerateAttestationNumber(h.cfg.Entropy)
		if err != nil {
			return Outcome{}, err
		}
		out, err := h.repo.Update(ctx, siren, Change{Meta: meta,
			Decide: func(c *domain.Company, now time.Time) ([]domain.Event, error) { return decide(c, now, n) }})
		if usedHere && errors.Is(err, domain.ErrConflict) && draw+1 < maxNumberDraws {
			continue
		}
		if err == nil && !out.Replayed {
			h.indexIssued(ctx, eventstore.Stream(companyCategory, siren.String()), n, out.Decoded)
		}
		return out, err
	}
}

// indexIssued writes, in the background, the index entry of number if the
// events issue it.
func (h *Commands) indexIssued(ctx context.Context, stream string, number domain.AttestationNumber, events []domain.Event) {
	issued := false
	for i := len(events) - 1; i >= 0 && !issued; i-- {
		iss, ok := events[i].(domain.AttestationIssued)
		issued = ok && iss.Number == number
	}
	if !issued {
		return
	}
	h.indexing.Add(1)
	go func() {
		defer h.indexing.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), indexTimeout)
		defer cancel()
		first, err := h.index.Claim(ctx, number.String(), stream)
		switch {
		case err != nil:
			h.metrics.indexFailures.Inc()
			h.log.Warn("attestation index: entry not written; the read models will answer for it", "number", number.String(), "stream", stream, "err", err)
		case first != stream:
			// Two companies drew the same 75-bit number: the index keeps
			// the first, and the second is found through the read models.
			h.metrics.indexFailures.Inc()
			h.log.Error("attestation index: number already indexed for another company", "number", number.String(), "stream", stream, "indexed", first)
		}
	}()
}

// WaitIndexed waits until the index writes of the commands answered so
// far are done (for tests, and before closing the store).
func (h *Commands) WaitIndexed() { h.indexing.Wait() }
