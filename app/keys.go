package app

import (
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

// openKeys moves a token key left at the data dir's old place into the
// keys dir, creates the missing keys, and returns the store's NATS users:
// the embedded server admits the ledger's nkey and the auditor's only.
func (a *App) openKeys(dirs datadir.Layout, keys datadir.Keys) (jetstream.Config, error) {
	moved, leftover, err := dirs.MoveLegacyTokenKey(keys)
	if err != nil {
		return jetstream.Config{}, err
	}
	if moved {
		a.log.Info("moved the token key into the keys dir", "from", dirs.LegacyTokenKey, "to", keys.TokenKey)
	}
	if leftover != "" {
		a.log.Warn("the data dir has an old token key unlike the keys dir's: the keys dir's signs and verifies tokens", "unused", leftover, "keys_dir", keys.Dir)
	}
	created, _, err := keys.Init(a.cfg.Origin)
	if err != nil {
		return jetstream.Config{}, err
	}
	if len(created) > 0 {
		a.log.Info("created keys", "keys_dir", keys.Dir, "files", created)
	}
	seed, _, err := datadir.LoadNATSSeed(keys.NATSLedger)
	if err != nil {
		return jetstream.Config{}, err
	}
	if a.cfg.NATSURL != "" {
		if a.cfg.NATSCredentials != "" {
			return jetstream.Config{}, nil // the external server's credentials file
		}
		// The cluster admits the ledger's nkey user (its public key is
		// what keys init prints).
		return jetstream.Config{NKeySeed: seed}, nil
	}
	_, auditor, err := datadir.LoadNATSSeed(keys.NATSAuditor)
	if err != nil {
		return jetstream.Config{}, err
	}
	return jetstream.Config{NKeySeed: seed, AuditorNKeys: []string{auditor}}, nil
}
