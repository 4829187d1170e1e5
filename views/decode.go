package views

import (
	"fmt"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Decode turns a recorded envelope into its domain event.
func Decode(env eventstore.Envelope) (domain.Event, error) {
	e, err := domain.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
	if err != nil {
		return nil, fmt.Errorf("position %d: %w", env.Position, err)
	}
	return e, nil
}
