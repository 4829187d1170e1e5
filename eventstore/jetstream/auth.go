package jetstream

import (
	"errors"
	"fmt"

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

// AuditorSubjects are the subjects a read-only auditor publishes to (all
// requests to the JetStream API): the ledger stream's info, direct and
// message gets, and creating, reading and pulling from its own consumers.
// Nothing else: no event subject, no stream or consumer deletion, purge or
// update. Replies come on the auditor's _INBOX.
func AuditorSubjects() []string {
	s := StreamName
	return []string{
		"$JS.API.INFO",
		"$JS.API.STREAM.INFO." + s,
		"$JS.API.STREAM.MSG.GET." + s,
		"$JS.API.DIRECT.GET." + s,
		"$JS.API.DIRECT.GET." + s + ".>",
		"$JS.API.CONSUMER.CREATE." + s,
		"$JS.API.CONSUMER.CREATE." + s + ".>",
		"$JS.API.CONSUMER.INFO." + s + ".>",
		"$JS.API.CONSUMER.MSG.NEXT." + s + ".>",
		"$JS.ACK." + s + ".>",
		"$JS.FC." + s + ".>",
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
	for _, a := range cfg.AuditorNKeys {
		users = append(users, &server.NkeyUser{Nkey: a, Permissions: auditorPermissions()})
	}
	return users, nil
}
