package projections

import "github.com/attestation-ledger/attestation-ledger/internal/errs"

// ErrNotFound is returned by a query for a row that does not exist (yet):
// the caller may wait for a log position and ask again.
var ErrNotFound = errs.New(errs.NotFound, "projections: not found")
