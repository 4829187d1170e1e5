package projections

import "github.com/attestation-ledger/attestation-ledger/views"

// The rows of the loan request and attestation read models are the views
// both sides share (package views); these names keep the read models'
// signatures readable.
type (
	// LoanRequestView is views.LoanRequestView.
	LoanRequestView = views.LoanRequestView
	// AttestationView is views.AttestationView.
	AttestationView = views.AttestationView
	// AttestationSummary is views.AttestationSummary.
	AttestationSummary = views.AttestationSummary
)
