package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/integrity/jscheckpoints"
)

// shareCheckpoints makes the verifiable log publish into and serve the
// deployment's shared list of checkpoints, under the publisher lease, when
// the service runs on an external NATS server or cluster (where other
// instances may run). The embedded single instance keeps its local file.
func (a *App) shareCheckpoints(ctx context.Context, cfg *integrity.Config) error {
	if a.cfg.NATSURL == "" {
		return nil
	}
	cps, err := jscheckpoints.Open(ctx, a.Store)
	if err != nil {
		return fmt.Errorf("open the shared checkpoints: %w", err)
	}
	holder := instanceID()
	lease, err := jscheckpoints.Lease(ctx, a.Store, holder, integrity.DefaultLeaseTTL)
	if err != nil {
		return err
	}
	cfg.Checkpoints, cfg.Lease, cfg.LeaseTTL = cps, lease, integrity.DefaultLeaseTTL
	a.log.Info("checkpoints shared with the deployment", "lease", jscheckpoints.LeaseName, "holder", holder)
	return nil
}

// instanceID names this process uniquely in the deployment: host, pid and
// a random suffix (a restarted process is a new holder).
func instanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ledger"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
