package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// Action is what a journal entry records, from a closed set: Record
// refuses any other.
type Action string

// The actions of the journal.
const (
	AuthnSuccess      Action = "authn.success"      // a token was accepted
	AuthnFailure      Action = "authn.failure"      // a token was refused (401)
	TokenIssue        Action = "token.issue"        // a token was issued
	TokenRevoke       Action = "token.revoke"       // a token was revoked
	AccessDenied      Action = "access.denied"      // 403, or the 404 that hides another tenant's resource
	AdminAction       Action = "admin.action"       // an admin-only operation
	ConfigStart       Action = "config.start"       // the non-secret configuration at start
	KeyUse            Action = "key.use"            // a key was used for a security operation
	KeyRotate         Action = "key.rotate"         // a key was rotated
	CheckpointPublish Action = "checkpoint.publish" // the ledger published a signed checkpoint
	AuditResult       Action = "audit.result"       // a self-audit's outcome
	RateLimitHit      Action = "ratelimit.hit"      // a request was refused by a quota
	EventUntrusted    Action = "event.untrusted"    // an event without valid provenance was seen
	ReadAttestation   Action = "read.attestation"   // an attestation record was read
	ReadCompany       Action = "read.company"       // a company record was read
	ServiceStart      Action = "service.start"      // the service started
	ServiceStop       Action = "service.stop"       // the service stopped
	JournalLoss       Action = "journal.loss"       // entries this instance could not keep (see doc)
)

// Actions lists every action, in the order above.
var Actions = []Action{
	AuthnSuccess, AuthnFailure, TokenIssue, TokenRevoke, AccessDenied, AdminAction, ConfigStart,
	KeyUse, KeyRotate, CheckpointPublish, AuditResult, RateLimitHit, EventUntrusted,
	ReadAttestation, ReadCompany, ServiceStart, ServiceStop, JournalLoss,
}

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool { return slices.Contains(Actions, a) }

// Result is the outcome of what an entry records.
type Result string

// The results.
const (
	Success Result = "success"
	Failure Result = "failure" // refused for a reason other than authorization (bad token, quota)
	Denied  Result = "denied"  // refused for lack of right
	Error   Result = "error"   // failed on the service's side
)

// Valid reports whether r is a known result.
func (r Result) Valid() bool {
	return r == Success || r == Failure || r == Denied || r == Error
}

// Bounds of an entry's fields: longer values are cut (and marked with a
// trailing "…"), control and format characters are replaced, so that an
// attacker-controlled value (a request id, a token's subject) cannot
// forge log lines or bloat the journal.
const (
	maxField       = 128
	maxDetailKeys  = 8
	maxDetailKey   = 32
	maxDetailValue = 256
)

// Entry is one record of the security journal (see the package doc for
// what each field may hold and why).
type Entry struct {
	// Time is when it happened, UTC, kept to the millisecond. Record sets
	// it when zero.
	Time time.Time
	// Action is what happened; required.
	Action Action
	// Result is its outcome; required.
	Result Result
	// Subject is who: the token's subject (a bank code, a SIREN, an
	// auditor's or admin's identifier), "anonymous" without a valid token,
	// or the service itself ("ledger") for its own actions.
	Subject string
	// Role is the subject's role (bank, company, auditor, regulator,
	// admin), empty when unknown.
	Role string
	// Tenant is the tenant acted for: "bank:<code>", "siren:<SIREN>", or
	// empty for none (auditors, admins, the service).
	Tenant string
	// Object is what was acted on: an attestation number, a SIREN, a key
	// id, a checkpoint size; empty when nothing in particular.
	Object string
	// Source is the client's IP address, without port.
	Source string
	// RequestID is the request's id (X-Request-Id), to join the journal
	// with the service's logs.
	RequestID string
	// Instance names the instance that recorded the entry; Record sets it.
	Instance string
	// ID identifies the entry uniquely (a ULID); Record sets it, whatever
	// it was. The journal stream drops a republished entry by it.
	ID string
	// Detail is a small map of further facts (a status code, a reason, a
	// count): at most 8 keys; never a token, a request body or personal
	// data.
	Detail map[string]string
}

// wire is an entry's stored form, in its JSON field order.
//
// WARNING: the stored bytes are hashed into the journal's signed
// checkpoints; the names and order are a persisted contract.
type wire struct {
	Time      string            `json:"time"`
	Action    Action            `json:"action"`
	Result    Result            `json:"result"`
	Subject   string            `json:"subject"`
	Role      string            `json:"role"`
	Tenant    string            `json:"tenant"`
	Object    string            `json:"object"`
	Source    string            `json:"source"`
	RequestID string            `json:"requestId"`
	Instance  string            `json:"instance"`
	ID        string            `json:"id"`
	Detail    map[string]string `json:"detail,omitempty"`
}

// timeLayout is the UTC millisecond timestamp of entries.
const timeLayout = "2006-01-02T15:04:05.000Z"

// ErrInvalidEntry: an entry with an unknown action or result.
var ErrInvalidEntry = errs.New(errs.Invalid, "journal: invalid entry")

// normalize checks the action and result and bounds every field.
func (e Entry) normalize() (Entry, error) {
	if !e.Action.Valid() {
		return e, fmt.Errorf("%w: unknown action %q", ErrInvalidEntry, e.Action)
	}
	if !e.Result.Valid() {
		return e, fmt.Errorf("%w: unknown result %q", ErrInvalidEntry, e.Result)
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	for _, f := range []*string{&e.Subject, &e.Role, &e.Tenant, &e.Object, &e.Source, &e.RequestID, &e.Instance, &e.ID} {
		*f = clean(*f, maxField)
	}
	if len(e.Detail) > 0 {
		keys := make([]string, 0, len(e.Detail))
		for k := range e.Detail {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		d := make(map[string]string, min(len(keys), maxDetailKeys))
		for _, k := range keys[:min(len(keys), maxDetailKeys)] {
			d[clean(k, maxDetailKey)] = clean(e.Detail[k], maxDetailValue)
		}
		if len(keys) > maxDetailKeys {
			d["truncated"] = strconv.Itoa(len(keys) - maxDetailKeys)
		}
		e.Detail = d
	}
	return e, nil
}

// clean replaces invalid UTF-8, control and format characters (bidi
// overrides, zero-width) by U+FFFD and cuts s to at most n bytes.
func clean(s string, n int) string {
	ok := len(s) <= n
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > n-len("…") {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// encode returns the stored bytes of a normalized entry: compact JSON in
// the order of wire, no HTML escaping, no trailing newline.
func (e Entry) encode() ([]byte, error) {
	w := wire{
		Time: e.Time.UTC().Format(timeLayout), Action: e.Action, Result: e.Result, Subject: e.Subject, Role: e.Role,
		Tenant: e.Tenant, Object: e.Object, Source: e.Source, RequestID: e.RequestID, Instance: e.Instance, ID: e.ID,
		Detail: e.Detail,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("encode journal entry: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// decode parses stored bytes.
func decode(data []byte) (Entry, error) {
	var w wire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Entry{}, fmt.Errorf("decode journal entry: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Entry{}, fmt.Errorf("decode journal entry: data after the object")
	}
	t, err := time.Parse(timeLayout, w.Time)
	if err != nil {
		return Entry{}, fmt.Errorf("decode journal entry: time: %w", err)
	}
	return Entry{
		Time: t, Action: w.Action, Result: w.Result, Subject: w.Subject, Role: w.Role, Tenant: w.Tenant,
		Object: w.Object, Source: w.Source, RequestID: w.RequestID, Instance: w.Instance, ID: w.ID, Detail: w.Detail,
	}, nil
}

// Leaf returns the journal's leaf data for the stored bytes of the entry
// at position (its sequence in the journal stream): the stored JSON object
// with "position" as its first field. Its RFC 6962 leaf hash is
// tlog.RecordHash(Leaf(...)); `ledger verify` checks these lines as it
// checks the ledger's entries.
func Leaf(position uint64, stored []byte) ([]byte, error) {
	if len(stored) < 2 || stored[0] != '{' || stored[1] == '}' {
		return nil, fmt.Errorf("journal entry at position %d: not a JSON object with fields", position)
	}
	out := make([]byte, 0, len(stored)+24)
	out = append(out, `{"position":`...)
	out = strconv.AppendUint(out, position, 10)
	out = append(out, ',')
	return append(out, stored[1:]...), nil
}

// Record is an entry as read back from the journal, with its position.
type Record struct {
	// Position is the entry's sequence in the journal stream, its leaf
	// index + 1.
	Position uint64
	Entry
}
