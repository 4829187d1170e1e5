package memstore_test

import (
	"testing"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/memstore"
	"github.com/attestation-ledger/attestation-ledger/eventstore/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store { return memstore.New() })
}
