package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Names of the projectors, each with its own checkpoint row.
//
// WARNING: persisted in the checkpoints and dead_letters tables; never
// rename one.
const (
	ProjectorLoanRequests = "loan_requests"
	ProjectorAttestations = "attestations"
	ProjectorCompanies    = "companies"
	ProjectorReports      = "reports"
)

// projectorNames lists the projectors in the order they apply an event.
var projectorNames = []string{ProjectorLoanRequests, ProjectorAttestations, ProjectorCompanies, ProjectorReports}

// Item is one event of the log as delivered to the projectors: its
// envelope and its domain event, or the error decoding it gave.
type Item struct {
	Envelope eventstore.Envelope
	// Event is nil when Err is set.
	Event domain.Event
	// Err is why the event could not be decoded.
	Err error
	// Untrusted: the event's provenance does not verify; no read model
	// uses it (the checkpoints still pass it).
	Untrusted bool
}

// projector maintains one read model. It stages the rows an event changes
// in memory and writes them in the batch's transaction.
type projector interface {
	name() string
	// handles reports whether events of a wire type concern the projector.
	handles(eventType string) bool
	// apply stages the effect of one decoded event. On error nothing is
	// staged, so that the event alone can be dead-lettered. Errors of the
	// database are wrapped by storageError.
	apply(ctx context.Context, tx *sql.Tx, env eventstore.Envelope, e domain.Event) error
	// prepare appends to w the writes of the staged rows.
	prepare(w []rowWrite) ([]rowWrite, error)
	// commit marks the staged rows as stored, once the transaction has
	// committed.
	commit()
	// reset drops the staged rows (after a rollback).
	reset()
	// complete reports whether the projector holds all its rows, so that
	// applying needs no read of the database.
	complete() bool
}

// rowWrite is one statement of a batch: a row's insert or update, or a
// dead letter. Its arguments are values taken when the batch was staged,
// so that it can run after the applier has moved on (a pipelined rebuild).
type rowWrite struct {
	stmt *sql.Stmt
	args []any
	// kind and key name what it writes, for errors ("request", its id).
	kind, key string
}

// applyMode says what happens to an event a projector cannot apply.
type applyMode int

const (
	// strict fails the whole batch, to be retried.
	strict applyMode = iota
	// deadLetter records the event in dead_letters, moves the projector's
	// checkpoint past it and applies the rest of the batch.
	deadLetter
)

// storageErr marks an error of the database (as opposed to an event that
// cannot be applied): it is never dead-lettered, since it says nothing
// about the event.
type storageErr struct{ err error }

// Error implements error.
func (e *storageErr) Error() string { return e.err.Error() }

// Unwrap returns the database's error.
func (e *storageErr) Unwrap() error { return e.err }

// storageError wraps err as a database error.
func storageError(format string, args ...any) error {
	return &storageErr{fmt.Errorf(format, args...)}
}

// isStorage reports whether err is a database error.
func isStorage(err error) bool {
	var s *storageErr
	return errors.As(err, &s)
}

// EventError is an event a projector could not apply.
type EventError struct {
	Projector string
	Position  uint64
	Type      string
	Err       error
}

// Error implements error.
func (e *EventError) Error() string {
	return fmt.Sprintf("projector %s: event %d (%s): %v", e.Projector, e.Position, e.Type, e.Err)
}

// Unwrap returns the cause.
func (e *EventError) Unwrap() error { return e.Err }

// batchResult tells what one committed batch did.
type batchResult struct {
	from, to     uint64
	applied      map[string]int
	deadLettered map[string]int
	failures     []*EventError
}

// applier applies batches of events to one generation, all projectors in
// one transaction with their checkpoints.
type applier struct {
	gen        *generation
	projectors []projector
}

// newApplier returns the applier of g. Each projector caches up to
// cacheRows of its rows.
func newApplier(g *generation, cacheRows int) *applier {
	st := &g.stmts
	empty := func(name string) bool { return g.checkpoint(name) == 0 }
	return &applier{gen: g, projectors: []projector{
		newLoanRequestProjector(st, empty(ProjectorLoanRequests), cacheRows),
		newAttestationProjector(st, empty(ProjectorAttestations), cacheRows, g.attestations),
		newCompanyProjector(st, empty(ProjectorCompanies), cacheRows),
		newReportProjector(st, empty(ProjectorReports), cacheRows),
	}}
}

// stagedBatch is a batch applied in memory, with the writes that store it.
type stagedBatch struct {
	res    batchResult
	start  []uint64 // the projectors' checkpoints before the batch
	writes []rowWrite
}

// apply applies a batch of consecutive events in one transaction. Each
// projector skips the events at or before its checkpoint, so a redelivered
// event is never applied twice; its checkpoint moves to the batch's last
// position in the same transaction as its rows.
func (a *applier) apply(ctx context.Context, items []Item, mode applyMode) (res batchResult, err error) {
	if len(items) == 0 {
		return batchResult{}, nil
	}
	g := a.gen
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	defer func() {
		for _, p := range a.projectors {
			p.reset()
		}
	}()
	g.stateMu.Lock()
	start := make([]uint64, len(a.projectors))
	for i, p := range a.projectors {
		start[i] = g.checkpoints[p.name()]
	}
	g.stateMu.Unlock()
	if items[len(items)-1].Envelope.Position <= slices.Min(start) {
		return batchResult{from: items[0].Envelope.Position, to: items[len(items)-1].Envelope.Position}, nil // all seen: a redelivery
	}

	tx, err := g.w.BeginTx(ctx, nil)
	if err != nil {
		return res, storageError("begin batch %d..%d: %w", items[0].Envelope.Position, items[len(items)-1].Envelope.Position, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// The statements of a batch run without cancellation: with a
	// cancellable context, the driver starts a watcher goroutine for each
	// statement, which would cost more than the statement. ctx is checked
	// between events, and the transaction rolls back when it ends.
	st, err := a.stage(ctx, context.WithoutCancel(ctx), tx, items, start, mode)
	if err != nil {
		return st.res, err
	}
	if err := a.write(context.WithoutCancel(ctx), tx, &st); err != nil {
		return st.res, err
	}
	if err := tx.Commit(); err != nil {
		return st.res, storageError("commit batch %d..%d: %w", st.res.from, st.res.to, err)
	}
	a.handOff(&st)
	a.publish(&st)
	return st.res, nil
}

// stage applies a batch to the projectors' rows in memory and prepares its
// writes. tx serves the reads of rows the projectors do not hold; it may
// be nil when every projector holds all its rows (complete).
func (a *applier) stage(outer, ctx context.Context, tx *sql.Tx, items []Item, start []uint64, mode applyMode) (st stagedBatch, err error) {
	st = stagedBatch{start: start, res: batchResult{
		from: items[0].Envelope.Position, to: items[len(items)-1].Envelope.Position,
		applied: map[string]int{}, deadLettered: map[string]int{},
	}}
	res := &st.res
	for i := range items {
		if i%256 == 255 && outer.Err() != nil {
			return st, fmt.Errorf("apply batch %d..%d: %w", res.from, res.to, outer.Err())
		}
		it := &items[i]
		pos := it.Envelope.Position
		if it.Untrusted {
			continue
		}
		for j, p := range a.projectors {
			if pos <= start[j] || !p.handles(it.Envelope.Type) {
				if pos > start[j] {
					res.applied[p.name()]++
				}
				continue
			}
			perr := it.Err
			if perr == nil {
				perr = p.apply(ctx, tx, it.Envelope, it.Event)
			}
			if perr == nil {
				res.applied[p.name()]++
				continue
			}
			evErr := &EventError{Projector: p.name(), Position: pos, Type: it.Envelope.Type, Err: perr}
			if mode == strict || isStorage(perr) {
				return st, evErr
			}
			st.writes = append(st.writes, a.deadLetter(p.name(), it.Envelope, perr))
			res.deadLettered[p.name()]++
			res.failures = append(res.failures, evErr)
		}
	}
	for j, p := range a.projectors {
		if res.to <= start[j] {
			continue
		}
		if st.writes, err = p.prepare(st.writes); err != nil {
			return st, &EventError{Projector: p.name(), Position: res.to, Type: "(batch)", Err: err}
		}
		st.writes = append(st.writes, rowWrite{a.gen.stmts.saveCheckpoint, []any{int64(res.to), p.name()}, "the checkpoint of", p.name()})
	}
	return st, nil
}

// write runs a staged batch's writes in tx.
func (a *applier) write(ctx context.Context, tx *sql.Tx, st *stagedBatch) error {
	stmts := make(map[*sql.Stmt]*sql.Stmt, 12)
	for _, w := range st.writes {
		s := stmts[w.stmt]
		if s == nil {
			s = tx.StmtContext(ctx, w.stmt)
			stmts[w.stmt] = s
		}
		if _, err := s.ExecContext(ctx, w.args...); err != nil {
			return storageError("batch %d..%d: write %s %s: %w", st.res.from, st.res.to, w.kind, w.key, err)
		}
	}
	return nil
}

// handOff tells the projectors their staged rows are stored (or, in a
// pipelined rebuild, will be): they keep them as committed.
func (a *applier) handOff(st *stagedBatch) {
	for j, p := range a.projectors {
		if st.res.to > st.start[j] {
			p.commit()
		}
	}
}

// publish records a committed batch's checkpoints and dead letters.
func (a *applier) publish(st *stagedBatch) {
	g := a.gen
	g.stateMu.Lock()
	defer g.stateMu.Unlock()
	for j, p := range a.projectors {
		if st.res.to > st.start[j] {
			g.checkpoints[p.name()] = st.res.to
		}
		g.deadLetters[p.name()] += int64(st.res.deadLettered[p.name()])
	}
}

// complete reports whether every projector holds all its rows in memory,
// so that batches can be staged without reading the database.
func (a *applier) complete() bool {
	for _, p := range a.projectors {
		if !p.complete() {
			return false
		}
	}
	return true
}

// deadLetter returns the write that records an event a projector could
// not apply.
func (a *applier) deadLetter(projector string, env eventstore.Envelope, cause error) rowWrite {
	return rowWrite{a.gen.stmts.insertDeadLetter, []any{
		projector, int64(env.Position), env.ID, env.Stream, env.Type, env.SchemaVersion,
		env.OccurredAt.UTC().Format(time.RFC3339Nano), cause.Error(), []byte(env.Data)},
		"the dead letter for " + projector + " of event", strconv.FormatUint(env.Position, 10)}
}
