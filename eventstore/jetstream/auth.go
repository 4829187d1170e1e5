package jetstream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// nkeyUser returns the public key of a user nkey seed.
func nkeyUser(seed []byte) (string, error) {
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		return "", fmt.Errorf("NKeySeed: %w", err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return "", errors.New("NKeySeed is not a user nkey seed")
	}
	return pub, nil
}

// nkeyOption authenticates a connection as the user of seed.
func nkeyOption(seed []byte) (nats.Option, error) {
	pub, err := nkeyUser(seed)
	if err != nil {
		return nil, err
	}
	seed = append([]byte(nil), seed...)
	return nats.Nkey(pub, func(nonce []byte) ([]byte, error) {
		kp, err := nkeys.FromSeed(seed)
		if err != nil {
			return nil, err
		}
		defer kp.Wipe()
		return kp.Sign(nonce)
	}), nil
}

// LedgerDeniedSubjects are the JetStream API requests the ledger's own
// user may not make: deleting or purging a stream (the ledger's, its
// checkpoints' or a bucket's) or a message of one. The store never needs
// them; a stolen ledger credential must not erase the evidence.
var LedgerDeniedSubjects = []string{
	"$JS.API.STREAM.DELETE.>",
	"$JS.API.STREAM.PURGE.>",
	"$JS.API.STREAM.MSG.DELETE.>",
}

// ledgerPermissions are the ledger user's rights on the embedded server:
// everything but LedgerDeniedSubjects.
func ledgerPermissions() *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{">"}, Deny: LedgerDeniedSubjects},
		Subscribe: &server.SubjectPermission{Allow: []string{">"}},
	}
}

// AuditAccount is the account of the embedded server's read-only
// auditors. It holds no stream: it imports from the ledger's account
// (the global one) only the read requests of AuditorSubjects, so that no
// reply subject an auditor picks, and no consumer it could create, lands
// a message in a stream of the ledger's account.
const AuditAccount = "AUDIT"

// AuditorSubjects are the JetStream API requests a read-only auditor may
// make, on the ledger stream only: its info, message gets, and direct gets
// (one, or a batch: how an auditor tails the log). Nothing else: no event
// subject, no consumer, no delete, purge or update.
func AuditorSubjects() []string {
	s := StreamName
	return []string{
		"$JS.API.INFO", // the ledger account's; also keeps the audit account off JetStream of its own
		"$JS.API.STREAM.INFO." + s,
		"$JS.API.STREAM.MSG.GET." + s,
		"$JS.API.DIRECT.GET." + s,
		"$JS.API.DIRECT.GET." + s + ".>",
	}
}

// auditorPermissions are a read-only auditor's rights on the embedded
// server.
func auditorPermissions() *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: AuditorSubjects()},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}
}

// linkAuditAccount lets the audit account ask the ledger's account (the
// global one) for AuditorSubjects. It runs before the server starts, so
// that JetStream gives the audit account none of its own.
func linkAuditAccount(ns *server.Server) error {
	gacc := ns.GlobalAccount()
	aud, err := ns.LookupAccount(AuditAccount)
	if err != nil {
		return fmt.Errorf("audit account: %w", err)
	}
	for _, subj := range AuditorSubjects() {
		// A batch of direct gets answers with several messages.
		if err := gacc.AddServiceExportWithResponse(subj, server.Streamed, []*server.Account{aud}); err != nil {
			return fmt.Errorf("export %s to the audit account: %w", subj, err)
		}
		if err := aud.AddServiceImport(gacc, subj, subj); err != nil {
			return fmt.Errorf("import %s into the audit account: %w", subj, err)
		}
	}
	return nil
}

// enableLedgerJetStream turns JetStream on for the ledger's account, which
// a server with accounts beside the global one does not do by itself. Its
// streams are where they always were, in the global account's store dir.
func enableLedgerJetStream(ns *server.Server) error {
	gacc := ns.GlobalAccount()
	if gacc.JetStreamEnabled() {
		return nil
	}
	unlimited := server.JetStreamAccountLimits{MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1,
		MaxAckPending: -1, MemoryMaxStreamBytes: -1, StoreMaxStreamBytes: -1}
	if err := gacc.EnableJetStream(map[string]server.JetStreamAccountLimits{"": unlimited}, nil); err != nil {
		return fmt.Errorf("enable JetStream on the ledger's account: %w", err)
	}
	return nil
}

// embeddedUsers are the users the embedded server admits: the ledger's and
// the auditors'. None (no NKeySeed) leaves the server without
// authentication, which Validate allows only when it does not listen.
func embeddedUsers(cfg *Config) ([]*server.NkeyUser, error) {
	if len(cfg.NKeySeed) == 0 {
		return nil, nil
	}
	pub, err := nkeyUser(cfg.NKeySeed)
	if err != nil {
		return nil, err
	}
	users := []*server.NkeyUser{{Nkey: pub, Permissions: ledgerPermissions()}}
	if len(cfg.AuditorNKeys) == 0 {
		return users, nil
	}
	aud := server.NewAccount(AuditAccount)
	for _, a := range cfg.AuditorNKeys {
		users = append(users, &server.NkeyUser{Nkey: a, Account: aud, Permissions: auditorPermissions()})
	}
	return users, nil
}

// ServerAuthConfig is the authorization part of an external nats-server's
// configuration (to include in every server of a cluster) for one
// deployment: account LEDGER, with JetStream, holds the ledger's streams
// and its user ledgerKey, with every right but LedgerDeniedSubjects; account
// AUDIT holds the read-only auditors, who may ask the LEDGER account only
// for AuditorSubjects. It holds public keys only. The ledger's user needs
// the right to update streams (`--replicas` changes them); a stream's
// DenyDelete and DenyPurge cannot be turned off by an update.
func ServerAuthConfig(ledgerKey string, auditorKeys []string) (string, error) {
	if !nkeys.IsValidPublicUserKey(ledgerKey) {
		return "", fmt.Errorf("ledger nkey %q is not a public user nkey", ledgerKey)
	}
	for _, k := range auditorKeys {
		if !nkeys.IsValidPublicUserKey(k) {
			return "", fmt.Errorf("auditor nkey %q is not a public user nkey", k)
		}
	}
	q := func(ss []string) string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	var b strings.Builder
	b.WriteString(`# NATS authorization of an attestation-ledger deployment, made by
# "ledger keys init --nats-auth FILE" from the keys dir's public nkeys.
# Include it in every server's configuration (include "ledger-auth.conf").
# It names public keys only. See docs/API.md, "Deployment and trust".
accounts {
  ` + LedgerAccount + ` {
    jetstream: enabled
    users: [
      { nkey: ` + strconv.Quote(ledgerKey) + `
        permissions: { publish: { allow: [">"], deny: ` + q(LedgerDeniedSubjects) + ` }, subscribe: { allow: [">"] } } }
    ]
    exports: [
`)
	for _, s := range AuditorSubjects() {
		fmt.Fprintf(&b, "      { service: %s, accounts: [%s], response_type: stream }\n", strconv.Quote(s), AuditAccount)
	}
	b.WriteString("    ]\n  }\n  " + AuditAccount + " {\n    users: [\n")
	for _, k := range auditorKeys {
		fmt.Fprintf(&b, "      { nkey: %s\n        permissions: { publish: { allow: %s }, subscribe: { allow: [\"_INBOX.>\"] } } }\n", strconv.Quote(k), q(AuditorSubjects()))
	}
	b.WriteString("    ]\n    imports: [\n")
	for _, s := range AuditorSubjects() {
		fmt.Fprintf(&b, "      { service: { account: %s, subject: %s } }\n", LedgerAccount, strconv.Quote(s))
	}
	b.WriteString("    ]\n  }\n}\n")
	return b.String(), nil
}

// LedgerAccount is the account of the ledger's streams on an external
// server configured with ServerAuthConfig.
const LedgerAccount = "LEDGER"
