package jetstream

import "context"

// SettingsBucket is the key-value bucket of the deployment's settings that
// are fixed once, by the first instance that needs them (e.g. the position
// from which every event must carry provenance).
//
// WARNING: persisted; never rename it.
const SettingsBucket = "LEDGER_SETTINGS"

// Settings returns the register of the deployment's settings: Claim sets a
// setting unless it is set, and answers the value it was first set to,
// whichever instance set it.
func (s *Store) Settings(ctx context.Context) (*Register, error) {
	return s.openRegister(ctx, SettingsBucket, "setting", "attestation ledger: settings fixed once for the whole deployment")
}
