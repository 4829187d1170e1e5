package projections

import (
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/views"
)

// Decode turns a recorded envelope into its domain event (views.Decode,
// shared with the command side).
func Decode(env eventstore.Envelope) (domain.Event, error) { return views.Decode(env) }
