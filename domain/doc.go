// Package domain holds the rules of the Prêt Garanti par l'État (PGE) and the
// Company aggregate that applies them.
//
// It is pure and deterministic: it imports only the standard library, does
// no I/O, reads no clock and no global state. A decision is a function of the
// aggregate's state (rebuilt from its events), the command, the time it is
// given and the identifiers generated for it, and returns new events.
//
// The rules are those of docs/DOMAIN.md; each rule names its section.
package domain
