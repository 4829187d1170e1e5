package securityreport

import (
	"fmt"
	"strings"
)

// Coverage is one row of the journal's coverage of ANSSI's logging
// guidance (ANSSI-PA-012). The guide's recommendations are named by
// their topic, not by a number this report could not justify.
type Coverage struct {
	// Topic names the recommendation.
	Topic string `json:"topic"`
	// Recommendation says what the guide asks.
	Recommendation string `json:"recommendation"`
	// HowMet says how the ledger meets it.
	HowMet string `json:"howMet"`
	// Evidence is what this report found in the period.
	Evidence string `json:"evidence"`
	// Status is "met", "partial" (the operator must complete it) or
	// "not met" (this period's evidence contradicts it).
	Status string `json:"status"`
}

// Coverage statuses.
const (
	Met     = "met"
	Partial = "partial"
	NotMet  = "not met"
)

func coverage(rep Report) []Coverage {
	by := rep.Summary.ByAction
	var succ, fail, denied int
	for _, t := range rep.Tenants {
		succ += t.AuthnSuccesses
		fail += t.AuthnFailures
		denied += t.Forbidden + t.Hidden
	}
	jl := rep.Integrity.Journal
	passed := 0
	for _, c := range jl.Checks {
		if c.OK {
			passed++
		}
	}
	integrityStatus := Met
	if !jl.OK {
		integrityStatus = NotMet
	}
	timeStatus, timeEvidence := Met, "timestamps are UTC to the millisecond; "
	switch k := rep.Clock.Kernel; {
	case k == nil:
		timeStatus = Partial
		timeEvidence += "the kernel's synchronization state could not be read (" + rep.Clock.KernelError + ")"
	case !k.Synchronized:
		timeStatus = NotMet
		timeEvidence += "the kernel flags the clock as NOT synchronized"
	default:
		timeEvidence += fmt.Sprintf("the kernel flags the clock as synchronized (estimated error %d µs)", k.EstErrorMicros)
	}
	timeEvidence += fmt.Sprintf("; %d entries out of time order", rep.Clock.OutOfOrder)
	shipStatus, shipEvidence := Partial, "no syslog collector is configured on this instance (--syslog-addr)"
	if s := jl.Journal; s != nil && s.Syslog != nil {
		shipStatus = Met
		shipEvidence = fmt.Sprintf("collector %s, connected %v, %d entries waiting", s.Syslog.Addr, s.Syslog.Connected, s.Syslog.Backlog)
		if !s.Syslog.Connected {
			shipStatus = Partial
		}
	}
	lossStatus := Met
	dropped := uint64(0)
	if jl.Journal != nil {
		dropped = jl.Journal.Dropped
	}
	if rep.Summary.JournalLosses > 0 || dropped > 0 {
		lossStatus = NotMet
	}
	return []Coverage{
		{
			Topic:          "Events to log: authentication",
			Recommendation: "log every authentication, successful or not, with who, when and from where",
			HowMet:         "every request's token check is journaled (authn.success, authn.failure with its reason), with subject, role, tenant, source address and request id",
			Evidence:       fmt.Sprintf("%d successes and %d failures journaled in the period", succ, fail),
			Status:         Met,
		},
		{
			Topic:          "Events to log: access control decisions",
			Recommendation: "log denied accesses",
			HowMet:         "every 403, and every 404 that hides another tenant's resource, is journaled (access.denied); quota refusals too (ratelimit.hit)",
			Evidence:       fmt.Sprintf("%d denials and %d quota refusals journaled", denied, by["ratelimit.hit"]),
			Status:         Met,
		},
		{
			Topic:          "Events to log: administration, configuration, service life",
			Recommendation: "log administrators' actions, privilege and configuration changes, and the start and stop of services",
			HowMet:         "admin.action and token.revoke for admin operations, config.start (the non-secret configuration) and service.start/stop at each start and stop, key.use and key.rotate for keys",
			Evidence: fmt.Sprintf("%d admin actions, %d configurations at start, %d starts, %d stops, %d key rotations",
				len(rep.AdminActions)+rep.AdminActionsOmitted, by["config.start"], rep.Summary.ServiceStarts, rep.Summary.ServiceStops, by["key.rotate"]),
			Status: Met,
		},
		{
			Topic:          "Timestamping",
			Recommendation: "timestamp events in UTC from a clock synchronized to a reliable source",
			HowMet:         "entries carry a UTC timestamp in milliseconds from the host clock; the report reads the kernel's synchronization flag",
			Evidence:       timeEvidence,
			Status:         timeStatus,
		},
		{
			Topic:          "Integrity of the logs",
			Recommendation: "protect the logs against alteration and deletion, and be able to prove it",
			HowMet:         "the journal is an RFC 6962 Merkle tree with signed C2SP checkpoints; its stream denies delete and purge; an export of it (journal.Export) is checked offline by `ledger journal verify`",
			Evidence:       fmt.Sprintf("%d of %d checks passed while building this report", passed, len(jl.Checks)),
			Status:         integrityStatus,
		},
		{
			Topic:          "Centralisation and secure transport",
			Recommendation: "send logs in real time to a central collector, over an authenticated and encrypted channel, without loss when it is down",
			HowMet:         "RFC 5424 syslog over TCP (RFC 5425 TLS when configured) from a durable consumer: entries wait in the stream while the collector is down",
			Evidence:       shipEvidence,
			Status:         shipStatus,
		},
		{
			Topic:          "No silent loss",
			Recommendation: "a logging failure must be detected and itself logged",
			HowMet:         "entries never block a request: queued, then spilled to a file; a loss (full memory and unwritable spill file) is counted, journaled (journal.loss) and fails /readyz",
			Evidence:       fmt.Sprintf("%d entries lost per journal.loss entries of the period, %d dropped on this instance since start", rep.Summary.JournalLosses, dropped),
			Status:         lossStatus,
		},
		{
			Topic:          "Access to the logs",
			Recommendation: "restrict reading the logs to those who need it and forbid changing them",
			HowMet:         "the security report is for auditors and admins only; a company sees only the reads of its own file; the journal stream denies delete and purge, and the ledger's NATS user cannot delete messages",
			Evidence:       "route roles from package access (ReadSecurityReport: auditor, admin)",
			Status:         Met,
		},
		{
			Topic:          "Retention",
			Recommendation: "define and apply a retention period",
			HowMet:         "the journal stream's MaxAge (--journal-retention, default 12 months, as the CNIL recommends); expired entries keep their leaf hashes, so the proofs of the rest still verify",
			Evidence:       fmt.Sprintf("retention %.0f days", rep.Summary.RetentionDays),
			Status:         Met,
		},
		{
			Topic:          "Regular analysis",
			Recommendation: "analyse the logs regularly and raise anomalies",
			HowMet:         "this report: statistics per tenant, brute-force and flood detection rules, integrity checks and findings, for any period",
			Evidence:       fmt.Sprintf("%d brute-force and %d flood episodes detected", len(rep.BruteForce), len(rep.Floods)),
			Status:         Met,
		},
		{
			Topic:          "Personal data in logs (CNIL)",
			Recommendation: "keep in the logs only what their purpose needs, for a limited time",
			HowMet:         "entries have a closed set of bounded fields: never a token, a key, a request body, a name or an amount",
			Evidence:       "fields: " + strings.Join([]string{"time", "action", "result", "subject", "role", "tenant", "object", "source", "requestId", "instance", "detail"}, ", "),
			Status:         Met,
		},
	}
}
