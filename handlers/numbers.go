package handlers

import (
	"context"
	"errors"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// errNumberTaken: the attestation number drawn was claimed first for
// another company; the command draws another.
var errNumberTaken = errs.New(errs.Internal, "attestation number claimed by another company")

// maxNumberDraws bounds the numbers drawn for one command (75 random
// bits: a second draw never happens in practice).
const maxNumberDraws = 4

// reservation is the claim of a fresh attestation number for a company's
// stream in the attestation index. It starts before the command takes the
// company's lock, and the command awaits it only before appending events
// that issue the number, so that the claim's write overlaps the decision.
type reservation struct {
	number domain.AttestationNumber
	done   chan struct{}
	err    error
}

// reserve draws a number and starts claiming it for stream.
func (h *Commands) reserve(ctx context.Context, stream string) (*reservation, error) {
	n, err := domain.GenerateAttestationNumber(h.cfg.Entropy)
	if err != nil {
		return nil, err
	}
	r := &reservation{number: n, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		first, err := h.index.Claim(ctx, n.String(), stream)
		if err == nil && first != stream {
			err = errNumberTaken
		}
		r.err = err
	}()
	return r, nil
}

// beforeAppend waits for the claim when events issue the reserved number:
// an attestation is appended only once its number is indexed.
func (r *reservation) beforeAppend(ctx context.Context, events []domain.Event) error {
	for _, e := range events {
		if iss, ok := e.(domain.AttestationIssued); ok && iss.Number == r.number {
			select {
			case <-r.done:
				return r.err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// drawAgain reports whether a command whose number was taken by another
// company (or, with usedHere, possibly by this one: a domain conflict) may
// draw another.
func drawAgain(err error, draw int, usedHere bool) bool {
	return draw+1 < maxNumberDraws && (errors.Is(err, errNumberTaken) || usedHere && errors.Is(err, domain.ErrConflict))
}
