package domain

// Role is what an authenticated caller may do (API.md, DOMAIN.md §1).
//
// WARNING: role names are a public contract.
type Role string

// Roles.
const (
	RoleCompany   Role = "company"
	RoleBank      Role = "bank"
	RoleAuditor   Role = "auditor"
	RoleRegulator Role = "regulator"
	RoleAdmin     Role = "admin"
)

// ParseRole returns the role named s, or false.
func ParseRole(s string) (Role, bool) {
	switch r := Role(s); r {
	case RoleCompany, RoleBank, RoleAuditor, RoleRegulator, RoleAdmin:
		return r, true
	}
	return "", false
}

// Actor is who issues a command: a role and the subject's identifier (a
// company's SIREN, a bank's code, a person's id).
type Actor struct {
	Role Role   `json:"role"`
	ID   string `json:"id"`
}
