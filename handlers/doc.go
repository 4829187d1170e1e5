// Package handlers is the command side of the ledger's application layer:
// one handler per command, each a few lines over the company repository
// (Repository: the company's lock, a cache of loaded streams, load, the
// domain's decision, the append with the expected version, the retry after
// a conflict) and the idempotency of its key. It finds the company of an
// attestation through the store's attestation index, and asks the read
// side (Lookup) only for what the index does not tell. It depends on the
// read side for nothing else: the views it answers with are package views
// (.ci/check-layering). The HTTP transport is in handlers/httpapi.
package handlers
