// Package journal is the ledger's security journal, kept to ANSSI's
// logging guidance (ANSSI-PA-012, "Recommandations de sécurité pour
// l'architecture d'un système de journalisation") and the CNIL's
// recommendation on logging: every authentication, token issue and
// revocation, denial, admin action, configuration at start, key use and
// rotation, checkpoint publication, self-audit result, rate-limit hit,
// untrusted event, read of an attestation or company record, and the
// service's start and stop (the closed set of Action).
//
// # What an entry holds, and what it does not
//
// An Entry says when (UTC, to the millisecond), what (Action, Result), who
// (Subject: the token's subject; Role; Tenant: "bank:<code>",
// "siren:<SIREN>" or none), on what (Object: an attestation number, a
// SIREN, a key id), from where (Source: the client's IP address, no port)
// and which request (RequestID), on which instance, plus at most 8 short
// Detail values (a status code, a reason, a count). Every value is cut to
// a bound and stripped of control and format characters, so that an
// attacker-controlled value (a request id, a subject) can neither forge
// lines nor bloat the journal.
//
// Never in an entry: a token or any part of one, a key, a request or
// response body, a company's name, an amount, or any personal data beyond
// what the purpose needs. The purpose is security (who did what, from
// where, to answer an incident) and accountability to the companies
// ("who looked at my file"). The subject and tenant identify banks and
// companies (a SIREN can name a sole trader: it is what that company
// needs to see who read its file); the source address is personal data in
// the CNIL's sense and is kept because an incident cannot be answered
// without it. All of it lives only for the retention (default 12 months,
// Config.Retention; the CNIL recommends 6 months to a year).
//
// # Storage
//
// One JetStream stream for the deployment, LEDGER_JOURNAL, with the
// deployment's replicas, delete and purge denied, and MaxAge the
// retention: old entries expire, nothing else removes one. An entry's
// position is its stream sequence, gapless from the oldest kept. Its
// subject is ledger-journal.<action>.<object token> (the first 16 hex
// digits of the object's SHA-256), so the reads of one record are found
// without scanning the journal (Query).
//
// # Recording never blocks a request
//
// Record validates and encodes the entry and queues it in memory (at most
// Config.Buffer entries); a background writer publishes batches and waits
// for JetStream's acks, retrying with backoff. When the queue is full (the
// stream is slow or unreachable) entries are appended to a spill file in
// Config.Dir (mode 0600) and published from it once the queue drains; on
// Close what is still queued is spilled, and the next start publishes it.
// Each entry carries its id as Nats-Msg-Id, so a batch published again
// after a partial failure is not recorded twice (within the stream's
// duplicate window). Dropping was rejected: a journal an attacker can
// flood into silence is no evidence. Blocking the request (backpressure)
// was rejected too: it would make the log sink a way to stop the service.
// An entry is lost only when the queue is full AND the spill file cannot
// be written (a full disk): it is counted (Status.Dropped), the loss is
// itself journaled (a journal.loss entry with the count) and Ready fails.
// A crash (not a stop) loses what was queued in memory and not yet
// acknowledged, typically under a second of entries, and spill lines not
// yet flushed by the kernel.
//
// # Tamper evidence, and retention without breaking the proofs
//
// The journal is its own verifiable log: an RFC 6962 Merkle tree over its
// entries, with signed C2SP checkpoints whose origin is the ledger's plus
// "/journal", signed with the deployment's checkpoint key under that name
// (a note key's name is part of it, so the journal has its own verifier
// key, and a journal checkpoint can never pass for a ledger one). The
// tree, checkpoints and proofs are package integrity's, unchanged: the
// journal drives an integrity.Log by leaf hashes (Log.AppendHashes)
// instead of events, because integrity's event path (Append, CatchUp,
// SelfAudit, CheckStore, Export) re-reads every leaf from the store, which
// retention makes impossible. Leaf k is the entry at position k+1 as
// {"position":k+1, followed by its stored JSON (Leaf), so its lines read
// like the ledger's.
//
// When entries expire the tree keeps their leaf hashes: inclusion proofs
// of the remaining entries and consistency proofs between checkpoints
// signed before and after the expiry still verify (tested). Export writes
// the signed checkpoints, the leaf hash of every leaf (expired ones
// included) and the entries still held; Verify checks them offline with
// only the verifier key and golang.org/x/mod/sumdb's note and tlog: the
// leaf hashes must reproduce every signed root, and the entries must be
// consecutive up to the latest checkpoint, each hashing to its leaf. So no
// entry was removed, altered, inserted or reordered; the ones before the
// first are the expired ones, and Verify reports how many and the oldest
// remaining entry's time (it cannot prove when an expired entry was
// written: compare with the retention).
//
// Each instance builds the tree from the shared stream in its own Dir;
// all build the same tree, so their checkpoints agree (and on a cluster
// they share one list of them under a publisher lease, as the ledger's).
// The leaf hashes are also archived for ever in LEDGER_JOURNAL_HASHES (32
// bytes an entry, in chunks of up to 4,096 written at least every quarter
// of the retention, so that what is not archived yet has not expired): an
// instance whose tree starts after entries expired takes their hashes from
// there and the rest from the stream; the signed checkpoints it then
// checks its tree against expose a forged archive. Without the archive's
// chunk it reports the gap (ErrTreeGap, in Status and Ready) rather than
// build a wrong tree.
//
// # Shipping to a collector
//
// With Config.Syslog, entries are shipped in real time as RFC 5424
// messages over TCP with octet-counting framing (RFC 6587), over TLS (RFC
// 5425) when configured: facility 13 (log audit), severity from the result
// (informational, warning for denied and failure, error), the entry's
// timestamp, the action as MSGID, structured data [journal@32473 pos=…
// id=… result=… subject=… …] (32473 is RFC 5612's documentation
// enterprise number) and the leaf as MSG, which the collector can check
// against the journal's checkpoints.
//
// The shipper is a durable consumer of the journal stream, one for the
// deployment, so the collector being down loses nothing: the entries wait
// in the stream (Status().Syslog.Backlog) and are sent when it is back. A
// batch is acknowledged only once written and the connection is still
// open Confirm after the write (a collector that went away resets it
// within a round trip); otherwise it is sent again. Delivery is therefore
// at least once: a duplicate is recognised by its pos (and id). What plain
// TCP syslog cannot close: a collector host that vanishes without a reset
// during the Confirm window; RELP would, and is not used.
package journal
