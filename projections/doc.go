// Package projections builds the read models of the ledger from its event
// log: views of loan requests, attestations and companies, and the report
// aggregates. Read models are disposable: any of them can be dropped and
// rebuilt from the log and comes out the same.
package projections
