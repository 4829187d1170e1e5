package app

import (
	"context"
	"time"

	"github.com/attestation-ledger/attestation-ledger/securityreport"
)

// SecurityReport builds the security report of [from, to) from this
// instance's journal, verifiable log, keys dir and provenance keyring
// (GET /v1/reports/security).
func (a *App) SecurityReport(ctx context.Context, from, to time.Time) (securityreport.Report, error) {
	src := securityreport.Sources{Journal: a.Journal, Ledger: a.Ledger, Keys: a.Keys.Inventory}
	if a.provenance != nil {
		src.Untrusted = a.provenance.Untrusted
	}
	return securityreport.Build(ctx, src, from, to)
}
