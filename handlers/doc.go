// Package handlers is the application layer of the ledger: one command
// handler per command (load the company's stream, let the domain decide,
// append with the expected version, retry on a conflict), the queries, and
// the HTTP transport in handlers/httpapi.
package handlers
