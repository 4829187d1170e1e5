// Package access is the one place that says who may see and do what in
// the ledger: for each action (a command, or a kind of resource read), the
// roles that may ever do it and, for company and bank principals, the
// relationship to the resource that they need. Every HTTP route takes its
// role list from here, and every query and command check asks it.
//
// A principal without the relationship a resource needs is told the
// resource does not exist (404: another tenant's resource is never
// revealed); a role that may never do the action is forbidden (403).
package access

import (
	"fmt"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Action is something a principal does: a command, or a read of a kind of
// resource.
type Action string

// The actions of the API (docs/API.md), one per route or option.
const (
	SubmitLoanRequest   Action = "submit a loan request"
	RecordStateDecision Action = "record a State decision"
	GrantLoan           Action = "grant a loan"
	CancelAttestation   Action = "cancel an attestation"

	// SubmitLoanRequestBatch: loan requests in bulk, each line then a
	// SubmitLoanRequest.
	SubmitLoanRequestBatch Action = "submit loan requests in bulk"

	ReadLoanRequest   Action = "read a loan request"
	ReadAttestation   Action = "read an attestation"
	ReadAttestationAt Action = "read an attestation as of an instant"
	ListAttestations  Action = "list attestations"
	ReadCompany       Action = "read a company"
	ReadHistory       Action = "read a company's history"
	ReadAccessLog     Action = "read who looked at a company's file"
	ReadEvents        Action = "read the global log"
	ReadReport        Action = "read a report"
	ProveAttestation  Action = "prove an attestation"

	ReadCheckpoints  Action = "read checkpoints and the verifier key"
	ProveConsistency Action = "prove consistency"
	ReadEntries      Action = "read ledger entries"
	ProveInclusion   Action = "prove inclusion"

	RebuildProjections Action = "rebuild the read models"
	RevokeToken        Action = "revoke a token"
	ReadRevocations    Action = "read the token revocation list"
	ReadOps            Action = "read metrics and detailed readiness"
	ReadSecurityReport Action = "read the security report"
)

// Relation is how a principal stands to a resource.
type Relation int

// Relations.
const (
	// None: the resource is another tenant's, or a principal not a tenant.
	None Relation = iota
	// OwnerCompany: a company principal, the resource's company.
	OwnerCompany
	// OwnerBank: a bank principal, the resource's bank.
	OwnerBank
	// BankWithAttestation: a bank principal that holds, or held, an
	// attestation for the company (only a company resource asks for it).
	// A loan request never makes this relation: a bank creates it itself,
	// for any SIREN, and a rejected one proves nothing; an attestation is
	// what the rules granted. Even so the bank sees only its own part of
	// the company (queries.Service.Company).
	BankWithAttestation
)

// Decision is the policy's answer.
type Decision int

// Decisions.
const (
	// Allowed: go on.
	Allowed Decision = iota
	// NotFound: answer as if the resource did not exist.
	NotFound
	// Forbidden: the role may never do this.
	Forbidden
)

func (d Decision) String() string {
	return [...]string{"allowed", "not found", "forbidden"}[d]
}

// rule is what one role needs for one action.
type rule struct {
	// any: no relationship needed.
	any bool
	// needs: the relationships that allow (when not any).
	needs []Relation
	// otherwise is the decision without them.
	otherwise Decision
}

var (
	anyone = rule{any: true}
	// owner: the resource's company or bank; others are told not found.
	owner = rule{needs: []Relation{OwnerCompany, OwnerBank}, otherwise: NotFound}
	// self: a tenant acting on its own behalf; for another, forbidden (a
	// command for someone else hides nothing that exists).
	self = rule{needs: []Relation{OwnerCompany, OwnerBank}, otherwise: Forbidden}
	// related: the owner company, or a bank with an attestation for it.
	related = rule{needs: []Relation{OwnerCompany, BankWithAttestation}, otherwise: NotFound}
)

const (
	company   = domain.RoleCompany
	bank      = domain.RoleBank
	auditor   = domain.RoleAuditor
	regulator = domain.RoleRegulator
	admin     = domain.RoleAdmin
)

// policy is the table: action → role → rule. A role absent from an action
// is forbidden it. The relationships of grant and cancel (the attestation's
// bank; its company or bank) are checked by the domain on the aggregate,
// the one place that knows the owner when the command runs.
var policy = map[Action]map[domain.Role]rule{
	SubmitLoanRequest:   {company: self, bank: self},
	RecordStateDecision: {admin: anyone},
	GrantLoan:           {bank: owner},
	CancelAttestation:   {company: owner, bank: owner},

	SubmitLoanRequestBatch: {bank: self},

	ReadLoanRequest:   {company: owner, bank: owner, auditor: anyone, admin: anyone},
	ReadAttestation:   {company: owner, bank: owner, auditor: anyone, regulator: anyone, admin: anyone},
	ReadAttestationAt: {auditor: anyone, admin: anyone},
	ListAttestations:  {company: owner, bank: owner, auditor: anyone, regulator: anyone, admin: anyone},
	ReadCompany:       {company: related, bank: related, auditor: anyone, regulator: anyone, admin: anyone},
	ReadHistory:       {auditor: anyone, admin: anyone},
	ReadAccessLog:     {company: owner, auditor: anyone},
	ReadEvents:        {auditor: anyone, admin: anyone},
	ReadReport:        {regulator: anyone, auditor: anyone, admin: anyone},
	ProveAttestation:  {company: owner, bank: owner, auditor: anyone, admin: anyone},

	ReadCheckpoints:  {company: anyone, bank: anyone, auditor: anyone, regulator: anyone, admin: anyone},
	ProveConsistency: {company: anyone, bank: anyone, auditor: anyone, regulator: anyone, admin: anyone},
	ReadEntries:      {auditor: anyone, admin: anyone},
	ProveInclusion:   {auditor: anyone, admin: anyone},

	RebuildProjections: {admin: anyone},
	RevokeToken:        {admin: anyone},
	ReadRevocations:    {auditor: anyone},
	ReadOps:            {auditor: anyone, admin: anyone},
	ReadSecurityReport: {auditor: anyone, admin: anyone},
}

// roles lists the roles in a stable order.
var roles = []domain.Role{company, bank, auditor, regulator, admin}

// Roles returns the roles that may ever do action (with the relationship
// it needs), in a stable order: a route refuses the others at once.
func Roles(action Action) []domain.Role {
	var out []domain.Role
	for _, r := range roles {
		if _, ok := policy[action][r]; ok {
			out = append(out, r)
		}
	}
	return out
}

// Decide answers whether a principal of role, standing in relation rel to
// a resource, may do action on it.
func Decide(role domain.Role, action Action, rel Relation) Decision {
	r, ok := policy[action][role]
	if !ok {
		return Forbidden
	}
	if r.any {
		return Allowed
	}
	for _, n := range r.needs {
		if n == rel {
			return Allowed
		}
	}
	return r.otherwise
}

// RelationOf returns how who stands to a resource of this company and
// bank: its owner company, its owner bank, or none.
func RelationOf(who domain.Actor, siren, bankCode string) Relation {
	switch {
	case who.Role == company && who.ID == siren:
		return OwnerCompany
	case who.Role == bank && who.ID == bankCode:
		return OwnerBank
	}
	return None
}

// ErrHidden is the not-found answer that hides another tenant's resource
// (it matches domain.ErrNotFound), so that the transport can record the
// denial without telling the caller.
var ErrHidden = fmt.Errorf("%w (hidden from this principal)", domain.ErrNotFound)

// ErrForbidden: the principal's role may never do this.
var ErrForbidden = errs.New(errs.Forbidden, "your role may not do this")

// Check returns nil when who may do action on a resource it stands to in
// relation rel, domain.ErrNotFound when it must be told the resource does
// not exist, and ErrForbidden when its role may never do it.
func Check(who domain.Actor, action Action, rel Relation) error {
	switch Decide(who.Role, action, rel) {
	case Allowed:
		return nil
	case NotFound:
		return ErrHidden
	}
	if err := CheckRole(who, action); err != nil {
		return err
	}
	return fmt.Errorf("%w: a %s may %s only on its own behalf", ErrForbidden, who.Role, action)
}

// CheckRole returns ErrForbidden when who's role may never do action, on
// any resource: the check a route makes before looking anything up.
func CheckRole(who domain.Actor, action Action) error {
	if _, ok := policy[action][who.Role]; !ok {
		return fmt.Errorf("%w: a %s may not %s", ErrForbidden, who.Role, action)
	}
	return nil
}

// CheckOwned is Check for a resource of this company and bank.
func CheckOwned(who domain.Actor, action Action, siren, bankCode string) error {
	return Check(who, action, RelationOf(who, siren, bankCode))
}

// Scope returns the company and bank a principal's listing is confined
// to: a company sees only its own, a bank only its own; other roles see
// everything (empty strings).
func Scope(who domain.Actor) (siren, bankCode string) {
	switch who.Role {
	case company:
		return who.ID, ""
	case bank:
		return "", who.ID
	}
	return "", ""
}
