package httpapi

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// Quota bounds what one principal (a token subject of a role, or one
// source address for unauthenticated traffic) may ask at once and over
// time. A zero field is no limit on that dimension.
type Quota struct {
	// Rate is the sustained requests per second (token bucket).
	Rate float64
	// Burst is the bucket's size: requests above Rate accepted at once
	// (at least 1 when Rate is set).
	Burst int
	// Concurrent is the requests served at once.
	Concurrent int
	// Waits is the requests waiting at once for ?minPosition (the read
	// models or a checkpoint to reach a position): each waits up to
	// Quotas.MaxWait, so they are counted apart and capped lower.
	Waits int
	// Batches is the batches (POST /v1/loan-requests/batch) served at
	// once. A batch is one request for Rate and Concurrent, but up to
	// 1,000 commands, batchWorkers at a time: this bounds the commands a
	// principal's batches keep in flight (Batches × batchWorkers).
	Batches int
}

// String gives the quota in the form ParseQuota reads.
func (q Quota) String() string {
	s := fmt.Sprintf("rate=%s,burst=%d,concurrent=%d,waits=%d",
		strconv.FormatFloat(q.Rate, 'f', -1, 64), q.Burst, q.Concurrent, q.Waits)
	if q.Batches > 0 {
		s += fmt.Sprintf(",batches=%d", q.Batches)
	}
	return s
}

// ParseQuota reads a quota written "rate=20,burst=40,concurrent=16,waits=4,batches=2"
// (any subset, in any order; a field not given keeps its value in def).
func ParseQuota(s string, def Quota) (Quota, error) {
	q := def
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Quota{}, fmt.Errorf("quota %q: %q is not key=value", s, part)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var err error
		switch k {
		case "rate":
			q.Rate, err = strconv.ParseFloat(v, 64)
			if err == nil && (q.Rate < 0 || q.Rate != q.Rate) {
				err = fmt.Errorf("must not be negative")
			}
		case "burst":
			q.Burst, err = nonNegative(v)
		case "concurrent":
			q.Concurrent, err = nonNegative(v)
		case "waits":
			q.Waits, err = nonNegative(v)
		case "batches":
			q.Batches, err = nonNegative(v)
		default:
			return Quota{}, fmt.Errorf("quota %q: unknown key %q (rate, burst, concurrent, waits, batches)", s, k)
		}
		if err != nil {
			return Quota{}, fmt.Errorf("quota %q: %s: %w", s, k, err)
		}
	}
	if q.Rate > 0 && q.Burst < 1 {
		q.Burst = max(1, int(q.Rate))
	}
	return q, nil
}

func nonNegative(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err == nil && n < 0 {
		err = fmt.Errorf("must not be negative")
	}
	return n, err
}

// Quotas are the per-principal limits of the HTTP API: one tenant
// flooding is refused (429) on its own quota before it can fill the
// server's global bound (Config.MaxInFlight) that every tenant shares.
type Quotas struct {
	// Roles are the quota of each principal of a role, keyed by its token
	// subject (a bank by its code, a company by its SIREN, …). A role
	// absent gets DefaultQuotas' quota for it.
	Roles map[domain.Role]Quota
	// Anonymous is the quota of each source address for the requests
	// without a valid token (public endpoints, and refused tokens).
	Anonymous Quota
	// RoleInFlight bounds the requests in flight of all the principals of
	// a role together (keys: the roles, and "anonymous"; 0 or absent: no
	// bound), so that many principals of one role (a horde of company
	// tokens) cannot take every shared slot from the others either.
	RoleInFlight map[string]int
	// MaxWait bounds a ?minPosition wait (at most, and by default, 5 s).
	MaxWait time.Duration
	// Disabled turns the per-principal limits off (MaxInFlight remains).
	Disabled bool
}

// DefaultQuotas are sensible limits for the roles of the ledger: banks are
// the heavy users (thousands of requests a second between them), a company
// asks a few times a day, auditors and regulators read in bulk but with
// few clients.
func DefaultQuotas() Quotas {
	return Quotas{
		Roles: map[domain.Role]Quota{
			domain.RoleCompany:   {Rate: 20, Burst: 50, Concurrent: 16, Waits: 4},
			domain.RoleBank:      {Rate: 2000, Burst: 4000, Concurrent: 512, Waits: 256, Batches: 4},
			domain.RoleAuditor:   {Rate: 200, Burst: 400, Concurrent: 64, Waits: 16},
			domain.RoleRegulator: {Rate: 50, Burst: 100, Concurrent: 16, Waits: 8},
			domain.RoleAdmin:     {Rate: 200, Burst: 400, Concurrent: 64, Waits: 32},
		},
		Anonymous: Quota{Rate: 100, Burst: 200, Concurrent: 64},
		// Of the 4,096 shared slots: most to the banks, the heavy users.
		RoleInFlight: map[string]int{
			string(domain.RoleCompany): 1024, string(domain.RoleBank): 3072, string(domain.RoleAuditor): 256,
			string(domain.RoleRegulator): 128, string(domain.RoleAdmin): 128, anonymousRole: 512,
		},
		MaxWait: minPositionTimeout,
	}
}

// RoleInFlightString gives bounds in the form ParseRoleInFlight reads, in
// a stable order.
func RoleInFlightString(m map[string]int) string {
	var parts []string
	for _, r := range quotaRoles {
		if n, ok := m[r]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", r, n))
		}
	}
	return strings.Join(parts, ",")
}

// ParseRoleInFlight reads bounds written "company=1024,bank=3072" (a role
// not given keeps its bound in def).
func ParseRoleInFlight(s string, def map[string]int) (map[string]int, error) {
	out := maps.Clone(def)
	if out == nil {
		out = map[string]int{}
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || !slices.Contains(quotaRoles, k) {
			return nil, fmt.Errorf("role bounds %q: %q is not role=number (roles: %s)", s, part, strings.Join(quotaRoles, ", "))
		}
		n, err := nonNegative(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("role bounds %q: %s: %w", s, k, err)
		}
		out[k] = n
	}
	return out, nil
}
