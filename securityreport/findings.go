package securityreport

import (
	"fmt"
	"strings"
)

// Finding is an open finding in the shape of a PASSI audit report.
type Finding struct {
	// ID is stable for a static finding (SR-S…), and for a detected one
	// names its kind (SR-D-…).
	ID string `json:"id"`
	// Title says it in one line.
	Title string `json:"title"`
	// Evidence is what shows it.
	Evidence string `json:"evidence"`
	// Requirement is the rule it breaks.
	Requirement string `json:"requirement"`
	// Scenario is how it could be exploited or do harm.
	Scenario string `json:"scenario"`
	// Severity is critical, high, medium, low or info.
	Severity string `json:"severity"`
	// Fix is the recommended remediation.
	Fix string `json:"fix"`
	// Detected is true for a finding this period's data raised, false for
	// a known open one.
	Detected bool `json:"detected"`
}

// Severities.
const (
	Critical = "critical"
	High     = "high"
	Medium   = "medium"
	Low      = "low"
	Info     = "info"
)

// staticFindings are what is known to be open (SECURITY.md, issue 11),
// whatever the period.
var staticFindings = []Finding{
	{
		ID: "SR-S1", Title: "The checkpoint signing key cannot be rotated online",
		Evidence:    "SECURITY.md, \"Rotating the keys\": checkpoint signing is \"not online yet\"; the instances check published checkpoints with one verifier key",
		Requirement: "a compromised signing key must be replaceable without breaking the verification of what it signed (key management, integrity of the logs)",
		Scenario:    "an attacker who copied checkpoint-signer.key signs checkpoints of a forged history; replacing the key needs a stop of every instance and gives auditors no signed hand-over from the old key to the new",
		Severity:    Medium,
		Fix:         "a signed hand-over checkpoint (the old key signs the new verifier key at a tree size) and a verifier-key list in the instances and in `ledger verify`",
	},
	{
		ID: "SR-S2", Title: "Data at rest is not encrypted by the ledger",
		Evidence:    "SECURITY.md, threat model: \"a thief of the disk … nothing stops this but disk encryption\"",
		Requirement: "confidentiality of tenants' data and of the keys at rest",
		Scenario:    "a stolen or decommissioned disk gives the read models (company names, amounts) and, when on the same disk, the keys",
		Severity:    Medium,
		Fix:         "the operator puts the data dir on an encrypted volume and the keys dir on a secrets mount; check it in the deployment's acceptance",
	},
	{
		ID: "SR-S4", Title: "A company's ceiling rests on the turnover declared by the first attested request",
		Evidence:    "docs/DOMAIN.md: the ceiling is 25 % of the declared turnover; the profile is the one of the company's first attested request; nothing checks the turnover against fiscal data",
		Requirement: "the State guarantee must not exceed what the rules allow for the company's real figures",
		Scenario:    "a bank or a company declares an inflated turnover on the first request; the ceiling, and the guaranteed amount, grow with it, and later requests cannot correct it",
		Severity:    Medium,
		Fix:         "cross-check the declared turnover with the tax administration's figures (or a chartered accountant's attestation) before the first attestation, and journal corrections as admin actions",
	},
	{
		ID: "SR-S5", Title: "Syslog over plain TCP can lose the last entries sent to a collector that vanishes",
		Evidence:    "journal package doc, \"Shipping to a collector\": delivery is at least once; a collector host that vanishes without a reset during the confirm window is not closed; RELP is not used",
		Requirement: "no loss in the transport of logs to the central collector",
		Scenario:    "the collector's host loses power right after receiving a batch: the batch is acknowledged to the stream and absent from the collector (it stays in the journal, and its proofs)",
		Severity:    Low,
		Fix:         "ship with RELP, or have the collector reconcile with the journal's positions and checkpoints",
	},
	{
		ID: "SR-S6", Title: "The service does not check its time source",
		Evidence:    "this report's clock section: only the kernel's synchronization flag and the entries' order are checked",
		Requirement: "timestamps from a clock synchronized to a reliable, authenticated source",
		Scenario:    "a host whose time daemon follows a rogue or wrong server timestamps entries wrongly; correlation with other systems' logs fails during an incident",
		Severity:    Low,
		Fix:         "the operator runs an authenticated time daemon (chrony with NTS) and monitors its offset; the service could refuse to start when the kernel flags the clock unsynchronized",
	},
}

// findings returns the static findings and those the period's data
// raises.
func findings(rep Report) []Finding {
	out := append([]Finding{}, staticFindings...)
	add := func(f Finding) {
		f.Detected = true
		out = append(out, f)
	}
	for _, k := range rep.Keys.Inventory {
		if k.Problem == "" {
			continue
		}
		sev := Medium
		if strings.Contains(k.Problem, "readable") || strings.Contains(k.Problem, "group or others") {
			sev = High
		}
		add(Finding{ID: "SR-D-KEY-" + k.Name, Title: "Key " + k.Name + " has a problem",
			Evidence: fmt.Sprintf("key inventory: %s (%s): %s", k.Name, k.Path, k.Problem), Requirement: "keys are present, private to the service (0600) and readable",
			Scenario: "an exposed secret key lets another user of the host forge what it signs; an unreadable one stops the service at its next start",
			Severity: sev, Fix: "fix the file as the problem says (chmod 600, restore it from the secrets store) and rotate the key if it was exposed"})
	}
	if a := rep.Integrity.Ledger.Audit; a != nil && !a.OK {
		sev, what := Critical, "found problems: "+strings.Join(a.Problems, "; ")
		if len(a.Problems) == 0 {
			sev, what = Medium, "could not finish: "+a.Error
		}
		add(Finding{ID: "SR-D-AUDIT", Title: "The ledger's last self-audit did not pass",
			Evidence: fmt.Sprintf("self-audit at %s %s", a.At.Format("2006-01-02T15:04:05Z"), what), Requirement: "the store reproduces the signed checkpoints",
			Scenario: "events of the store were altered, removed or replaced after they were checkpointed", Severity: sev,
			Fix: "stop writes, compare the store with an auditor's export (`ledger verify`), restore from a replica that verifies"})
	}
	for _, l := range []struct {
		name string
		li   LogIntegrity
	}{{"journal", rep.Integrity.Journal}, {"ledger", rep.Integrity.Ledger}} {
		name, li := l.name, l.li
		for _, c := range li.Checks {
			if c.OK || c.Name == "last self-audit" {
				continue
			}
			sev := Critical
			if strings.Contains(c.Error, "none published yet") || strings.HasPrefix(c.Name, "latest checkpoint covers") || c.Name == "tree covers the period" || c.Name == "no gap" {
				sev = Low
			}
			add(Finding{ID: "SR-D-PROOF-" + name, Title: fmt.Sprintf("The %s's check %q failed", name, c.Name),
				Evidence: c.Error, Requirement: "the " + name + " is append-only and its signed checkpoints prove it",
				Scenario: "an entry was altered, removed or reordered, or the tree serving the proofs is not the one signed", Severity: sev,
				Fix: "export the " + name + " and verify it offline; compare with an auditor's copy of the checkpoints"})
		}
	}
	var dropped uint64
	if s := rep.Integrity.Journal.Journal; s != nil {
		dropped = s.Dropped
	}
	if rep.Summary.JournalLosses > 0 || dropped > 0 {
		add(Finding{ID: "SR-D-LOSS", Title: "Security journal entries were lost",
			Evidence:    fmt.Sprintf("%d entries lost per journal.loss entries of the period; %d dropped on this instance since start", rep.Summary.JournalLosses, dropped),
			Requirement: "no silent loss of security events", Scenario: "an attacker fills the disk, then acts while the journal cannot keep entries",
			Severity: High, Fix: "free space for the spill file, alert on ledger_journal_dropped_entries, keep the data dir on its own volume"})
	}
	if n := max(rep.Untrusted.Count, rep.Untrusted.InPeriod); n > 0 {
		add(Finding{ID: "SR-D-UNTRUSTED", Title: "Events without valid provenance are in the store",
			Evidence:    fmt.Sprintf("%d untrusted events met by this instance (first positions %v); %d event.untrusted entries in the period", rep.Untrusted.Count, rep.Untrusted.FirstPositions, rep.Untrusted.InPeriod),
			Requirement: "only the ledger writes into its stream", Scenario: "someone holding the ledger's NATS credential published events; none is used, they stay as evidence",
			Severity: High, Fix: "rotate the NATS credentials (`ledger keys init --nats-auth`) and the provenance key; find the publisher from the NATS server's logs"})
	}
	if len(rep.BruteForce) > 0 {
		add(Finding{ID: "SR-D-BRUTEFORCE", Title: fmt.Sprintf("%d brute-force episode(s) detected", len(rep.BruteForce)),
			Evidence:    episodesEvidence(rep.BruteForce),
			Requirement: fmt.Sprintf("rule %s: %d authentication failures from one source within %s", RuleBruteForce, rep.Rules.BruteForceCount, rep.Rules.BruteForceWindow),
			Scenario:    "a source tries tokens until one is accepted (stolen, guessed or replayed)", Severity: Medium,
			Fix: "block the source at the edge, check whether any of its attempts succeeded (authn.success from the same source), revoke the tokens involved"})
	}
	if len(rep.Floods) > 0 {
		add(Finding{ID: "SR-D-FLOOD", Title: fmt.Sprintf("%d flood episode(s) detected", len(rep.Floods)),
			Evidence:    episodesEvidence(rep.Floods),
			Requirement: fmt.Sprintf("rule %s: %d quota refusals for one principal within %s", RuleFlood, rep.Rules.FloodCount, rep.Rules.FloodWindow),
			Scenario:    "a principal floods the API (a runaway client, or a denial-of-service attempt); its quota held it", Severity: Low,
			Fix: "contact the tenant; lower its quota or revoke its token if it persists"})
	}
	c := rep.Clock
	if c.Kernel != nil && !c.Kernel.Synchronized {
		add(Finding{ID: "SR-D-CLOCK", Title: "The host clock is not synchronized",
			Evidence:    fmt.Sprintf("adjtimex: state %s, unsynchronized flag set, max error %d µs", c.Kernel.State, c.Kernel.MaxErrorMicros),
			Requirement: "timestamps from a synchronized clock", Scenario: "entries' times drift; they no longer match other systems' logs in an incident",
			Severity: Medium, Fix: "run and monitor a time daemon (chrony, systemd-timesyncd) on every host of the deployment"})
	}
	if c.WallStepSeconds > wallTolerance.Seconds() || -c.WallStepSeconds > wallTolerance.Seconds() {
		add(Finding{ID: "SR-D-CLOCKSTEP", Title: "The wall clock was stepped while the service ran",
			Evidence:    fmt.Sprintf("wall clock minus monotonic clock since the process started: %.3f s", c.WallStepSeconds),
			Requirement: "monotonic, reliable timestamps", Scenario: "entries around the step are out of order or overlap", Severity: Low,
			Fix: "let the time daemon slew rather than step; find who set the clock"})
	}
	if c.MaxBackstepMs > float64(orderTolerance.Milliseconds()) {
		add(Finding{ID: "SR-D-ORDER", Title: "Journal entries are out of time order beyond the tolerance",
			Evidence:    fmt.Sprintf("%d entries earlier than their predecessor; largest step back %.0f ms (tolerance %s)", c.OutOfOrder, c.MaxBackstepMs, orderTolerance),
			Requirement: "consistent timestamps across instances", Scenario: "an instance's clock is wrong; events cannot be put in order in an incident",
			Severity: Low, Fix: "synchronize every instance's clock"})
	}
	if s := rep.Integrity.Journal.Journal; s != nil && s.TreeError != "" {
		add(Finding{ID: "SR-D-TREE", Title: "The journal's tree does not follow its stream",
			Evidence: s.TreeError, Requirement: "every entry is proved by a signed checkpoint", Scenario: "entries recorded now are not covered by checkpoints",
			Severity: Medium, Fix: "see /readyz; restore the journal's hash archive or the stream"})
	}
	return out
}

func episodesEvidence(eps []Episode) string {
	var parts []string
	for i, e := range eps {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(eps)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s: %d entries from %s to %s (positions %d–%d)", e.Key, e.Count,
			e.First.Format("2006-01-02T15:04:05Z"), e.Last.Format("15:04:05Z"), e.FirstPosition, e.LastPosition))
	}
	return strings.Join(parts, "; ")
}
