package access_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/access"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// The whole policy as a table: for each action and role, the decision for
// each relationship, in the order none, owner company, owner bank, bank
// with a request for the company: A allowed, N not found, F forbidden.
// It restates docs/API.md's roles per route.
func TestPolicyTable(t *testing.T) {
	const (
		company   = domain.RoleCompany
		bank      = domain.RoleBank
		auditor   = domain.RoleAuditor
		regulator = domain.RoleRegulator
		admin     = domain.RoleAdmin
	)
	table := map[access.Action]map[domain.Role]string{
		access.SubmitLoanRequest:   {company: "FAAF", bank: "FAAF", auditor: "FFFF", regulator: "FFFF", admin: "FFFF"},
		access.RecordStateDecision: {company: "FFFF", bank: "FFFF", auditor: "FFFF", regulator: "FFFF", admin: "AAAA"},
		access.GrantLoan:           {company: "FFFF", bank: "NAAN", auditor: "FFFF", regulator: "FFFF", admin: "FFFF"},
		access.CancelAttestation:   {company: "NAAN", bank: "NAAN", auditor: "FFFF", regulator: "FFFF", admin: "FFFF"},
		access.ReadLoanRequest:     {company: "NAAN", bank: "NAAN", auditor: "AAAA", regulator: "FFFF", admin: "AAAA"},
		access.ReadAttestation:     {company: "NAAN", bank: "NAAN", auditor: "AAAA", regulator: "AAAA", admin: "AAAA"},
		access.ReadAttestationAt:   {company: "FFFF", bank: "FFFF", auditor: "AAAA", regulator: "FFFF", admin: "AAAA"},
		access.ListAttestations:    {company: "NAAN", bank: "NAAN", auditor: "AAAA", regulator: "AAAA", admin: "AAAA"},
		access.ReadCompany:         {company: "NANA", bank: "NANA", auditor: "AAAA", regulator: "AAAA", admin: "AAAA"},
		access.ReadHistory:         {company: "FFFF", bank: "FFFF", auditor: "AAAA", regulator: "FFFF", admin: "AAAA"},
		access.ReadEvents:          {company: "FFFF", bank: "FFFF", auditor: "AAAA", regulator: "FFFF", admin: "AAAA"},
		access.ReadReport:          {company: "FFFF", bank: "FFFF", auditor: "AAAA", regulator: "AAAA", admin: "AAAA"},
		access.ProveAttestation:    {company: "NAAN", bank: "NAAN", auditor: "AAAA", regulator: "FFFF", admin: "AAAA"},
		access.ReadCheckpoints:     {company: "AAAA", bank: "AAAA", auditor: "AAAA", regulator: "AAAA", admin: "AAAA"},
		access.ProveConsistency:    {company: "AAAA", bank: "AAAA", auditor: "AAAA", regulator: "AAAA", admin: "AAAA"},
		access.ReadEntries:         {company: "FFFF", bank: "FFFF", auditor: "AAAA", regulator: "FFFF", admin: "AAAA"},
		access.ProveInclusion:      {company: "FFFF", bank: "FFFF", auditor: "AAAA", regulator: "FFFF", admin: "AAAA"},
		access.RebuildProjections:  {company: "FFFF", bank: "FFFF", auditor: "FFFF", regulator: "FFFF", admin: "AAAA"},
	}
	letter := map[access.Decision]byte{access.Allowed: 'A', access.NotFound: 'N', access.Forbidden: 'F'}
	rels := []access.Relation{access.None, access.OwnerCompany, access.OwnerBank, access.BankWithAttestation}
	for action, byRole := range table {
		var allowed []domain.Role
		for _, role := range []domain.Role{company, bank, auditor, regulator, admin} {
			want := byRole[role]
			got := make([]byte, len(rels))
			for i, rel := range rels {
				got[i] = letter[access.Decide(role, action, rel)]
			}
			if string(got) != want {
				t.Errorf("%s by %s: %s, want %s (none, owner company, owner bank, bank with an attestation)", action, role, got, want)
			}
			if want != "FFFF" {
				allowed = append(allowed, role)
			}
		}
		if got := access.Roles(action); !slices.Equal(got, allowed) {
			t.Errorf("roles of %s: %v, want %v", action, got, allowed)
		}
	}
	// An unknown role may do nothing.
	if d := access.Decide("intruder", access.ReadCheckpoints, access.None); d != access.Forbidden {
		t.Errorf("unknown role: %s", d)
	}
}

// Check turns decisions into the errors the transport answers: not found
// (404) for another tenant's resource, forbidden (403) for a role that may
// never do it.
func TestCheck(t *testing.T) {
	acme := domain.Actor{Role: domain.RoleCompany, ID: "732829320"}
	bnp := domain.Actor{Role: domain.RoleBank, ID: "30004"}
	cases := []struct {
		who          domain.Actor
		action       access.Action
		siren, bank  string
		wantKind     errs.Kind
		wantNoErrors bool
	}{
		{who: acme, action: access.ReadAttestation, siren: "732829320", bank: "30003", wantNoErrors: true},
		{who: acme, action: access.ReadAttestation, siren: "552100554", bank: "30004", wantKind: errs.NotFound},
		{who: bnp, action: access.ReadAttestation, siren: "732829320", bank: "30004", wantNoErrors: true},
		{who: bnp, action: access.ReadAttestation, siren: "732829320", bank: "30003", wantKind: errs.NotFound},
		{who: bnp, action: access.SubmitLoanRequest, siren: "732829320", bank: "30003", wantKind: errs.Forbidden},
		{who: acme, action: access.ReadAttestationAt, siren: "732829320", bank: "30004", wantKind: errs.Forbidden},
		{who: domain.Actor{Role: domain.RoleRegulator, ID: "acpr"}, action: access.ProveAttestation, wantKind: errs.Forbidden},
	}
	for _, c := range cases {
		err := access.CheckOwned(c.who, c.action, c.siren, c.bank)
		switch {
		case c.wantNoErrors && err != nil:
			t.Errorf("%s %s on %s/%s: %v", c.who.Role, c.action, c.siren, c.bank, err)
		case !c.wantNoErrors && errs.KindOf(err) != c.wantKind:
			t.Errorf("%s %s on %s/%s: %v (kind %s), want %s", c.who.Role, c.action, c.siren, c.bank, err, errs.KindOf(err), c.wantKind)
		}
	}
	if err := access.CheckOwned(acme, access.ReadAttestation, "552100554", ""); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("another tenant's attestation: %v, want domain.ErrNotFound", err)
	}
	if s, b := access.Scope(bnp); s != "" || b != "30004" {
		t.Errorf("scope of a bank: %q %q", s, b)
	}
	if s, b := access.Scope(acme); s != "732829320" || b != "" {
		t.Errorf("scope of a company: %q %q", s, b)
	}
	if s, b := access.Scope(domain.Actor{Role: domain.RoleAuditor, ID: "a"}); s != "" || b != "" {
		t.Errorf("scope of an auditor: %q %q", s, b)
	}
}

// CheckRole refuses a role that may never do an action, whatever the
// resource, and lets through one that may with the right relationship.
func TestCheckRole(t *testing.T) {
	if err := access.CheckRole(domain.Actor{Role: domain.RoleRegulator}, access.ReadLoanRequest); errs.KindOf(err) != errs.Forbidden {
		t.Errorf("regulator reading a request: %v", err)
	}
	if err := access.CheckRole(domain.Actor{Role: domain.RoleBank, ID: "30004"}, access.ReadLoanRequest); err != nil {
		t.Errorf("bank reading a request: %v", err)
	}
}
