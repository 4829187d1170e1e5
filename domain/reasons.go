package domain

// ReasonCode is a stable code for why a request was not attested
// (DOMAIN.md §3 and §5).
//
// WARNING: reason codes are a persisted and public contract; never rename
// one.
type ReasonCode string

// Reason codes.
const (
	ReasonOutsideProgrammeWindow    ReasonCode = "OUTSIDE_PROGRAMME_WINDOW"
	ReasonExcludedLegalForm         ReasonCode = "EXCLUDED_LEGAL_FORM"
	ReasonExcludedCreditInstitution ReasonCode = "EXCLUDED_CREDIT_INSTITUTION"
	ReasonCollectiveProceeding      ReasonCode = "COLLECTIVE_PROCEEDING"
	ReasonOneAttestationUntilMay    ReasonCode = "ONE_ATTESTATION_UNTIL_MAY_2020"
	ReasonCeilingExceeded           ReasonCode = "CEILING_EXCEEDED"
	ReasonLargeCompanyStateDecree   ReasonCode = "LARGE_COMPANY_STATE_DECREE"
	// ReasonStateRefused: the State decided against a large company's
	// request.
	ReasonStateRefused ReasonCode = "STATE_DECISION_REFUSED"
)

// Reason is a reason code with a human explanation.
type Reason struct {
	Code    ReasonCode `json:"code"`
	Message string     `json:"message"`
}
