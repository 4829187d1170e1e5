package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// errNumberTaken: the attestation number drawn was claimed first for
// another company; the command draws another.
var errNumberTaken = errs.New(errs.Internal, "attestation number claimed by another company")

// maxNumberDraws bounds the numbers drawn for one command (75 random
// bits: a second draw never happens in practice).
const maxNumberDraws = 4

// issuing runs a change that may issue an attestation under a fresh
// number: it reserves a number for the company and, when the number was
// taken (by another company, or with usedHere by this one: a domain
// conflict), draws another.
func (h *Commands) issuing(ctx context.Context, siren domain.SIREN, meta Meta, usedHere bool,
	decide func(c *domain.Company, now time.Time, n domain.AttestationNumber) ([]domain.Event, error)) (Outcome, error) {
	stream := eventstore.Stream(companyCategory, siren.String())
	for draw := 0; ; draw++ {
		number, err := h.reserve(ctx, stream)
		if err != nil {
			return Outcome{}, err
		}
		out, err := h.repo.Update(ctx, siren, Change{Meta: meta, BeforeAppend: number.beforeAppend,
			Decide: func(c *domain.Company, now time.Time) ([]domain.Event, error) { return decide(c, now, number.number) }})
		number.release()
		if draw+1 < maxNumberDraws && (errors.Is(err, errNumberTaken) || usedHere && errors.Is(err, domain.ErrConflict)) {
			continue
		}
		return out, err
	}
}

// reservation is the claim of a fresh attestation number for a company's
// stream in the attestation index. It starts before the command takes the
// company's lock, and the command awaits it only before appending events
// that issue the number, so that the claim's write overlaps the wait for
// the lock and the decision. A decision that issues nothing withdraws the
// claim if it is still queued (once written, it points to a stream that
// does not hold the number: harmless).
type reservation struct {
	number  domain.AttestationNumber
	stream  string
	index   Index
	done    chan struct{}
	err     error
	release context.CancelFunc
	// withdrawn: released by a decision that issued nothing (a later
	// decision, after a conflict, may issue it: it claims again).
	withdrawn bool
}

// reserve draws a number and starts claiming it for stream.
func (h *Commands) reserve(ctx context.Context, stream string) (*reservation, error) {
	n, err := domain.GenerateAttestationNumber(h.cfg.Entropy)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &reservation{number: n, stream: stream, index: h.index, done: make(chan struct{}), release: cancel}
	go func() {
		defer close(r.done)
		r.err = r.claim(ctx)
	}()
	return r, nil
}

// claim claims the number for the stream.
func (r *reservation) claim(ctx context.Context) error {
	first, err := r.index.Claim(ctx, r.number.String(), r.stream)
	if err == nil && first != r.stream {
		err = errNumberTaken
	}
	return err
}

// beforeAppend waits for the claim when events issue the reserved number
// (an attestation is appended only once its number is indexed), and
// withdraws it otherwise.
func (r *reservation) beforeAppend(ctx context.Context, events []domain.Event) error {
	for _, e := range events {
		if iss, ok := e.(domain.AttestationIssued); ok && iss.Number == r.number {
			if r.withdrawn {
				return r.claim(ctx)
			}
			select {
			case <-r.done:
				return r.err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	r.release()
	r.withdrawn = true
	return nil
}
