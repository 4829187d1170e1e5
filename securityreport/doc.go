// Package securityreport builds the ledger's security report for a
// period, in the shape an audit to ANSSI's standard asks for
// (DOMAIN.md §9; ANSSI-PA-012, "Recommandations de sécurité pour
// l'architecture d'un système de journalisation"): authentication and
// denial statistics per tenant, brute-force and flood episodes, admin
// actions, the key inventory and rotations, the integrity of the
// security journal and of the ledger with the proofs checked while
// building the report, untrusted events, the clock's status, the
// journal's coverage of ANSSI's recommendations, and the open findings
// in the form a PASSI audit report uses.
//
// # Where the figures come from
//
// Everything counted comes from the security journal (package journal),
// read by the entries' own time over [From, To): nothing is estimated.
// Entries are attributed to their Tenant ("bank:<code>", "siren:<SIREN>"),
// or, for callers that act for no tenant, to "role:<role>", and to
// "anonymous" without a role. From an entry's Detail the report reads
// "reason", or else "result" (an authentication failure's cause:
// missing-token, invalid-token, revoked-token; "unspecified" when
// absent) and "status" (the HTTP status answered: a denial with status
// 404, or with reason or result "hidden", is a hidden 404; any other
// denial is a 403). A ratelimit.hit counts for its tenant, or its role
// and subject, or, anonymous, its source address.
//
// # Detection rules
//
// The rules are those of a SOC's first-level correlation, as ANSSI's
// guide asks logs to be analysed regularly and anomalies to be raised:
//
//   - Brute force (RuleBruteForce): at least BruteForceCount
//     authn.failure entries from one source address within
//     BruteForceWindow (default 10 within 5 minutes). Failures of one
//     source closer than the window to each other form one episode.
//   - Flood (RuleFlood): at least FloodCount ratelimit.hit entries for one
//     principal (its tenant or subject, or its source address when
//     anonymous) within FloodWindow (default 20 within 1 minute).
//
// Both thresholds are in Rules and printed in the report.
//
// # Proofs
//
// The report checks, itself, with golang.org/x/mod/sumdb/tlog and the
// verifier keys: the signature of the journal's and of the ledger's
// latest checkpoint; that every entry counted hashes to its leaf of the
// journal's tree and that the period's positions have no gap; the
// inclusion of the period's first and last entries in the journal's
// latest signed checkpoint; the consistency of the journal's checkpoint
// covering the period's first entry with the one covering its last, and
// of that one with the latest; and the consistency of the first ledger
// checkpoint journaled in the period with the ledger's latest. Each
// check is listed with its result.
package securityreport
