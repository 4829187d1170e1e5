// Package queries is the read side of the ledger's application layer: one
// service answers every query of the API (loan requests, attestations and
// their time travel, lists, companies, histories, the global log, reports,
// attestation proofs) from the read models, the event store and the
// verifiable log, and decides who may see what through package access. The
// HTTP transport only decodes parameters, calls it, and writes the answer.
package queries

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/internal/provenance"
	"github.com/attestation-ledger/attestation-ledger/projections"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// ReadModels is what the queries read from the read models.
type ReadModels interface {
	LoanRequest(ctx context.Context, id string) (views.LoanRequestView, error)
	Attestation(ctx context.Context, number string) (views.AttestationView, error)
	// AttestationJSON returns an attestation's stored view (JSON) and
	// owners, without decoding it.
	AttestationJSON(ctx context.Context, number string) (siren, bankCode string, view []byte, err error)
	ListAttestations(ctx context.Context, f projections.AttestationFilter) (projections.AttestationPage, error)
	Company(ctx context.Context, siren string) (projections.CompanyView, error)
	Report(ctx context.Context, q projections.ReportQuery) ([]projections.ReportRow, error)
	// WaitForPosition blocks until the read models have applied pos.
	WaitForPosition(ctx context.Context, pos uint64) error
}

// Config configures the query service.
type Config struct {
	// Store is required: histories, the global log and time travel.
	Store eventstore.Store
	// Provenance is optional: what tells the events the command side wrote
	// from the others, which time travel leaves out. Nil trusts every
	// event: tests only.
	Provenance *provenance.Keyring
	// ReadModels is required.
	ReadModels ReadModels
	// Ledger is required: checkpoints and inclusion proofs.
	Ledger *integrity.Log
	// CatchUpTimeout is optional: how long a lookup waits for the read
	// models to reach the log's head when they do not know a row yet
	// (default 5 s).
	CatchUpTimeout time.Duration
	// ProofWait is optional: how long a proof waits for a checkpoint
	// covering its attestation (default 5 s; checkpoints come at least
	// every second).
	ProofWait time.Duration
}

func (c *Config) setDefaults() {
	if c.CatchUpTimeout == 0 {
		c.CatchUpTimeout = 5 * time.Second
	}
	if c.ProofWait == 0 {
		c.ProofWait = 5 * time.Second
	}
}

// Validate reports every missing setting.
func (c Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("queries: Store is required"))
	}
	if c.ReadModels == nil {
		errs = append(errs, errors.New("queries: ReadModels is required"))
	}
	if c.Ledger == nil {
		errs = append(errs, errors.New("queries: Ledger is required"))
	}
	return errors.Join(errs...)
}

// Service answers the queries. Safe for concurrent use.
type Service struct {
	cfg    Config
	store  eventstore.Store
	rm     ReadModels
	ledger *integrity.Log
}

// New returns the query service.
func New(cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: cfg.Store, rm: cfg.ReadModels, ledger: cfg.Ledger}, nil
}

// ErrNotCaughtUp: the read models or the checkpoints have not reached a
// position in time.
var ErrNotCaughtUp = errs.New(errs.Unavailable, "not caught up in time")

// findFresh runs find and, if the read models do not know the row, waits
// until they have applied the log's current head and tries once more: a
// row recorded before this call is then always found.
func findFresh[T any](ctx context.Context, s *Service, find func(context.Context) (T, error)) (T, error) {
	v, err := find(ctx)
	if !errors.Is(err, projections.ErrNotFound) {
		return v, err
	}
	head, err := s.store.Head(ctx)
	if err != nil {
		return v, fmt.Errorf("read log head: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.CatchUpTimeout)
	defer cancel()
	if err := s.rm.WaitForPosition(wctx, head); err != nil {
		if ctx.Err() != nil {
			return v, ctx.Err()
		}
		return v, fmt.Errorf("%w: read models at position %d: %v", ErrNotCaughtUp, head, err)
	}
	return find(ctx)
}

// CompanyOfRequest returns the company a loan request belongs to, waiting
// for the read models if they do not know it yet (the command side's
// lookup, for State decisions).
func (s *Service) CompanyOfRequest(ctx context.Context, id string) (domain.SIREN, error) {
	v, err := findFresh(ctx, s, func(ctx context.Context) (views.LoanRequestView, error) {
		return s.rm.LoanRequest(ctx, id)
	})
	if err != nil {
		return domain.SIREN{}, err
	}
	return domain.ParseSIREN(v.SIREN)
}

// CompanyOfAttestation returns the company an attestation belongs to,
// waiting for the read models if they do not know it yet (the command
// side's lookup for attestations issued before its index existed).
func (s *Service) CompanyOfAttestation(ctx context.Context, n domain.AttestationNumber) (domain.SIREN, error) {
	v, err := findFresh(ctx, s, func(ctx context.Context) (views.AttestationView, error) {
		return s.rm.Attestation(ctx, n.String())
	})
	if err != nil {
		return domain.SIREN{}, err
	}
	return domain.ParseSIREN(v.SIREN)
}

// companyEvents reads a company's stream and decodes its events.
func (s *Service) companyEvents(ctx context.Context, siren domain.SIREN) ([]eventstore.Envelope, []domain.Event, error) {
	envs, err := s.store.ReadStream(ctx, domain.NewCompany(siren).Stream(), 1)
	if err != nil {
		return nil, nil, fmt.Errorf("read company %s: %w", siren, err)
	}
	trusted := envs[:0:0]
	events := make([]domain.Event, 0, len(envs))
	for _, env := range envs {
		if s.cfg.Provenance != nil && s.cfg.Provenance.Verify(env) != nil {
			continue // evidence of an attack, not a fact about the company
		}
		e, err := views.Decode(env)
		if err != nil {
			return nil, nil, fmt.Errorf("read company %s: %w", siren, err)
		}
		trusted, events = append(trusted, env), append(events, e)
	}
	return trusted, events, nil
}
