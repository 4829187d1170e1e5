package securityreport

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/journal"
)

// MaxPeriod bounds a report's period.
const MaxPeriod = 400 * 24 * time.Hour

// Sources is what a report is built from.
type Sources struct {
	// Journal is required: the security journal.
	Journal *journal.Journal
	// Ledger is optional: the ledger's verifiable log (its latest
	// checkpoint, the last self-audit, consistency proofs).
	Ledger *integrity.Log
	// Keys is optional: the key inventory (datadir.Keys.Inventory).
	Keys func() []datadir.KeyInfo
	// Untrusted is optional: how many events failed their provenance
	// check, and the first positions (provenance.Keyring.Untrusted).
	Untrusted func() (count int, first []uint64)
	// Rules is optional: the detection thresholds (DefaultRules when zero).
	Rules Rules
	// Now is optional: the clock (time.Now by default).
	Now func() time.Time
}

// Rules are the detection thresholds of the report (see the package doc).
type Rules struct {
	// BruteForceCount authn.failure entries from one source within
	// BruteForceWindow make a brute-force episode.
	BruteForceCount  int
	BruteForceWindow time.Duration
	// FloodCount ratelimit.hit entries for one principal within
	// FloodWindow make a flood episode.
	FloodCount  int
	FloodWindow time.Duration
}

// MarshalJSON writes the windows in seconds.
func (r Rules) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		BruteForceCount         int     `json:"bruteForceCount"`
		BruteForceWindowSeconds float64 `json:"bruteForceWindowSeconds"`
		FloodCount              int     `json:"floodCount"`
		FloodWindowSeconds      float64 `json:"floodWindowSeconds"`
	}{r.BruteForceCount, r.BruteForceWindow.Seconds(), r.FloodCount, r.FloodWindow.Seconds()})
}

// DefaultRules are the thresholds used unless Sources.Rules says otherwise.
func DefaultRules() Rules {
	return Rules{BruteForceCount: 10, BruteForceWindow: 5 * time.Minute, FloodCount: 20, FloodWindow: time.Minute}
}

// The rule names of episodes.
const (
	RuleBruteForce = "brute-force"
	RuleFlood      = "flood"
)

// Report is the security report of a period.
//
// WARNING: the JSON names are a public contract (docs/API.md).
type Report struct {
	// From and To bound the period, [From, To), UTC.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// GeneratedAt is when the report was built, UTC.
	GeneratedAt time.Time `json:"generatedAt"`
	// Rules are the detection thresholds applied.
	Rules Rules `json:"rules"`
	// Summary counts the period's journal entries.
	Summary Summary `json:"summary"`
	// Tenants are the authentication and denial statistics per tenant.
	Tenants []TenantStats `json:"tenants"`
	// BruteForce and Floods are the episodes detected.
	BruteForce []Episode `json:"bruteForce"`
	Floods     []Episode `json:"floods"`
	// AdminActions lists admin actions and token revocations.
	AdminActions []Action `json:"adminActions"`
	// AdminActionsOmitted counts those left out past MaxListed.
	AdminActionsOmitted int `json:"adminActionsOmitted"`
	// Keys is the key inventory and the rotations seen.
	Keys Keys `json:"keys"`
	// Integrity is the journal's and the ledger's, with the proofs checked.
	Integrity Integrity `json:"integrity"`
	// Untrusted is about events without valid provenance.
	Untrusted Untrusted `json:"untrusted"`
	// Clock is the host clock's status and what was not checked.
	Clock Clock `json:"clock"`
	// Coverage is the journal's coverage of ANSSI's recommendations.
	Coverage []Coverage `json:"coverage"`
	// Findings are the open findings, static and detected.
	Findings []Finding `json:"findings"`
}

// MaxListed bounds the admin actions and rotations listed one by one.
const MaxListed = 1000

// Summary counts the period's entries.
type Summary struct {
	// Entries is how many journal entries fall in the period.
	Entries int `json:"entries"`
	// ByAction counts them by action.
	ByAction map[string]int `json:"byAction"`
	// FirstPosition and LastPosition are the period's first and last
	// entries' positions (0 without any).
	FirstPosition uint64 `json:"firstPosition"`
	LastPosition  uint64 `json:"lastPosition"`
	// JournalLosses is the sum of the entries lost, as journal.loss
	// entries of the period say.
	JournalLosses int `json:"journalLosses"`
	// ServiceStarts and ServiceStops count the service's starts and stops.
	ServiceStarts int `json:"serviceStarts"`
	ServiceStops  int `json:"serviceStops"`
	// RetentionDays is how long the journal keeps its entries.
	RetentionDays float64 `json:"retentionDays"`
}

// TenantStats are a tenant's authentications and denials.
type TenantStats struct {
	// Tenant is "bank:<code>", "siren:<SIREN>", "role:<role>" or "anonymous".
	Tenant string `json:"tenant"`
	// AuthnSuccesses and AuthnFailures count authn.success and authn.failure.
	AuthnSuccesses int `json:"authnSuccesses"`
	AuthnFailures  int `json:"authnFailures"`
	// FailuresByReason splits AuthnFailures by reason.
	FailuresByReason map[string]int `json:"failuresByReason"`
	// Forbidden counts 403 denials, Hidden the 404s hiding another
	// tenant's resource, Throttled the 429s (ratelimit.hit).
	Forbidden int `json:"forbidden"`
	Hidden    int `json:"hidden"`
	Throttled int `json:"throttled"`
	// Reads counts read.company and read.attestation entries.
	Reads int `json:"reads"`
}

// Episode is a burst a detection rule found.
type Episode struct {
	// Rule is RuleBruteForce or RuleFlood.
	Rule string `json:"rule"`
	// Key is what the rule groups by: a source address, or a principal.
	Key string `json:"key"`
	// First and Last are the times of the episode's first and last entries.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Count is the episode's entries; Peak the most within one window.
	Count int `json:"count"`
	Peak  int `json:"peak"`
	// Subjects are the distinct subjects seen (at most 10).
	Subjects []string `json:"subjects"`
	// FirstPosition and LastPosition locate the episode in the journal.
	FirstPosition uint64 `json:"firstPosition"`
	LastPosition  uint64 `json:"lastPosition"`
}

// Action is one journal entry listed in the report.
type Action struct {
	Position  uint64            `json:"position"`
	Time      time.Time         `json:"time"`
	Action    string            `json:"action"`
	Result    string            `json:"result"`
	Subject   string            `json:"subject"`
	Role      string            `json:"role"`
	Object    string            `json:"object"`
	Source    string            `json:"source"`
	RequestID string            `json:"requestId"`
	Detail    map[string]string `json:"detail,omitempty"`
}

// Keys is the key inventory and the rotations of the period.
type Keys struct {
	// Inventory is every key of the keys dir, without secrets.
	Inventory []datadir.KeyInfo `json:"inventory"`
	// Rotations are the key.rotate entries of the period.
	Rotations []Action `json:"rotations"`
	// ChangedInPeriod names the keys whose file changed in the period.
	ChangedInPeriod []string `json:"changedInPeriod"`
}

// Build builds the report of [from, to).
func Build(ctx context.Context, src Sources, from, to time.Time) (Report, error) {
	if src.Journal == nil {
		return Report{}, errs.New(errs.Unavailable, "security report: no security journal")
	}
	if src.Now == nil {
		src.Now = time.Now
	}
	if src.Rules == (Rules{}) {
		src.Rules = DefaultRules()
	}
	from, to = from.UTC(), to.UTC()
	if !from.Before(to) || to.Sub(from) > MaxPeriod {
		return Report{}, errs.Errorf(errs.Invalid, "security report: want from before to, at most %d days apart", int(MaxPeriod/(24*time.Hour)))
	}
	rep := Report{From: from, To: to, GeneratedAt: src.Now().UTC(), Rules: src.Rules}
	a := newAnalysis(src.Rules)
	if err := src.Journal.Scan(ctx, from, to, a.add); err != nil {
		return Report{}, fmt.Errorf("security report: %w", err)
	}
	a.finish(&rep)
	rep.Summary.RetentionDays = src.Journal.Retention().Hours() / 24
	if src.Keys != nil {
		rep.Keys.Inventory = src.Keys()
		for _, k := range rep.Keys.Inventory {
			if !k.Modified.IsZero() && !k.Modified.Before(from) && k.Modified.Before(to) {
				rep.Keys.ChangedInPeriod = append(rep.Keys.ChangedInPeriod, k.Name)
			}
		}
	}
	rep.Keys.Inventory, rep.Keys.ChangedInPeriod = nonNil(rep.Keys.Inventory), nonNil(rep.Keys.ChangedInPeriod)
	rep.Integrity = checkIntegrity(ctx, src, a)
	rep.Untrusted = Untrusted{InPeriod: a.untrusted}
	if src.Untrusted != nil {
		rep.Untrusted.Count, rep.Untrusted.FirstPositions = src.Untrusted()
		rep.Untrusted.Known = true
	}
	rep.Untrusted.FirstPositions = nonNil(rep.Untrusted.FirstPositions)
	rep.Clock = clockStatus(src.Now(), a)
	rep.Coverage = coverage(rep)
	rep.Findings = findings(rep)
	return rep, nil
}

// Untrusted is about events of the ledger without valid provenance.
type Untrusted struct {
	// Known is false when the service gave no count.
	Known bool `json:"known"`
	// Count is how many this instance met since it started; FirstPositions
	// the first of them.
	Count          int      `json:"count"`
	FirstPositions []uint64 `json:"firstPositions"`
	// InPeriod counts the event.untrusted entries of the period.
	InPeriod int `json:"inPeriod"`
}
