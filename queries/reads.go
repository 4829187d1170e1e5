package queries

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/access"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/projections"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// LoanRequest returns a loan request, if who may see it.
func (s *Service) LoanRequest(ctx context.Context, who domain.Actor, id string) (views.LoanRequestView, error) {
	if err := access.CheckRole(who, access.ReadLoanRequest); err != nil {
		return views.LoanRequestView{}, err
	}
	v, err := s.rm.LoanRequest(ctx, id)
	if err != nil {
		return views.LoanRequestView{}, err
	}
	if err := access.CheckOwned(who, access.ReadLoanRequest, v.SIREN, v.BankCode); err != nil {
		return views.LoanRequestView{}, err
	}
	return v, nil
}

// AttestationJSON returns an attestation's current view, JSON-encoded as
// stored (the hot path: no decoding), if who may see it. The bytes must
// not be modified.
func (s *Service) AttestationJSON(ctx context.Context, who domain.Actor, n domain.AttestationNumber) ([]byte, error) {
	if err := access.CheckRole(who, access.ReadAttestation); err != nil {
		return nil, err
	}
	siren, bank, view, err := s.rm.AttestationJSON(ctx, n.String())
	if err != nil {
		return nil, err
	}
	if err := access.CheckOwned(who, access.ReadAttestation, siren, bank); err != nil {
		return nil, err
	}
	return view, nil
}

// AttestationAsOf rebuilds an attestation from its company's events
// recorded up to an instant (time travel; auditors and admins).
func (s *Service) AttestationAsOf(ctx context.Context, who domain.Actor, n domain.AttestationNumber, at time.Time) (views.AttestationView, error) {
	if err := access.Check(who, access.ReadAttestationAt, access.None); err != nil {
		return views.AttestationView{}, err
	}
	current, err := s.rm.Attestation(ctx, n.String())
	if err != nil {
		return views.AttestationView{}, err
	}
	siren, err := domain.ParseSIREN(current.SIREN)
	if err != nil {
		return views.AttestationView{}, err
	}
	envs, events, err := s.companyEvents(ctx, siren)
	if err != nil {
		return views.AttestationView{}, err
	}
	until := 0
	for until < len(envs) && !envs[until].OccurredAt.After(at) {
		until++
	}
	v, found := views.Attestation(n, envs[:until], events[:until])
	if !found {
		return views.AttestationView{}, fmt.Errorf("%w: attestation %s did not exist at %s", domain.ErrNotFound, n, at.Format(time.RFC3339))
	}
	return v, nil
}

// ListAttestations returns a page of the attestations f selects among
// those who may see: a company only its own, a bank only its own (asking
// for another's gives an empty page).
func (s *Service) ListAttestations(ctx context.Context, who domain.Actor, f projections.AttestationFilter) (projections.AttestationPage, error) {
	if err := access.CheckRole(who, access.ListAttestations); err != nil {
		return projections.AttestationPage{}, err
	}
	siren, bank := access.Scope(who)
	empty := projections.AttestationPage{Items: []views.AttestationView{}}
	switch {
	case siren != "" && f.SIREN != "" && f.SIREN != siren, bank != "" && f.BankCode != "" && f.BankCode != bank:
		return empty, nil
	case siren != "":
		f.SIREN = siren
	case bank != "":
		f.BankCode = bank
	}
	page, err := s.rm.ListAttestations(ctx, f)
	if err != nil {
		return projections.AttestationPage{}, err
	}
	if page.Items == nil {
		page.Items = empty.Items
	}
	return page, nil
}

// Company returns a company's view, if who may see it: the company itself
// and the roles that see every company see it whole; a bank sees it only
// while it holds (or held) an attestation for the company, and then only
// what it declared itself, its own attestations and the headroom its next
// request would be told (projections.CompanyView.ForBank). A bank's
// request, which it creates itself with any figures, never gives access:
// only an attestation, which the rules granted, does; and even then the
// bank learns nothing another bank declared or holds.
func (s *Service) Company(ctx context.Context, who domain.Actor, siren domain.SIREN) (projections.CompanyView, error) {
	if err := access.CheckRole(who, access.ReadCompany); err != nil {
		return projections.CompanyView{}, err
	}
	// Unknown, or not the caller's to see: the same 404.
	v, err := s.rm.Company(ctx, siren.String())
	if err != nil {
		return projections.CompanyView{}, err
	}
	rel := access.RelationOf(who, siren.String(), "")
	if who.Role == domain.RoleBank && v.HeldBy(who.ID) {
		rel = access.BankWithAttestation
	}
	if err := access.Check(who, access.ReadCompany, rel); err != nil {
		return projections.CompanyView{}, err
	}
	if who.Role == domain.RoleBank {
		v = v.ForBank(who.ID)
	}
	v.Held, v.Declared = nil, nil
	return v, nil
}

// History returns every event of a company's stream, oldest first.
func (s *Service) History(ctx context.Context, who domain.Actor, siren domain.SIREN) ([]eventstore.Envelope, error) {
	if err := access.Check(who, access.ReadHistory, access.None); err != nil {
		return nil, err
	}
	envs, err := s.store.ReadStream(ctx, domain.NewCompany(siren).Stream(), 1)
	if err != nil {
		return nil, err
	}
	if len(envs) == 0 {
		return nil, domain.ErrNotFound
	}
	return envs, nil
}

// Events returns at most limit events of the global log from position
// from, and the position to ask for next.
func (s *Service) Events(ctx context.Context, who domain.Actor, from uint64, limit int) ([]eventstore.Envelope, uint64, error) {
	if err := access.Check(who, access.ReadEvents, access.None); err != nil {
		return nil, 0, err
	}
	envs, err := s.store.ReadAll(ctx, from, limit)
	if err != nil {
		return nil, 0, err
	}
	next := from
	if len(envs) > 0 {
		next = envs[len(envs)-1].Position + 1
	}
	return envs, next, nil
}

// Report returns the rows of a report.
func (s *Service) Report(ctx context.Context, who domain.Actor, q projections.ReportQuery) ([]projections.ReportRow, error) {
	if err := access.Check(who, access.ReadReport, access.None); err != nil {
		return nil, err
	}
	return s.rm.Report(ctx, q)
}

// AccessLogObjects returns what the journal names a company's file by:
// its SIREN and the numbers of its attestations, for "who looked at my
// file" (the owner company, auditors). A company without a record yet
// has only its SIREN.
func (s *Service) AccessLogObjects(ctx context.Context, who domain.Actor, siren domain.SIREN) ([]string, error) {
	if err := access.Check(who, access.ReadAccessLog, access.RelationOf(who, siren.String(), "")); err != nil {
		return nil, err
	}
	objects := []string{siren.String()}
	v, err := s.rm.Company(ctx, siren.String())
	if errors.Is(err, domain.ErrNotFound) {
		return objects, nil
	}
	if err != nil {
		return nil, err
	}
	return append(objects, v.Attestations...), nil
}
