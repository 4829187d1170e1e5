package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
)

func newKeysCommand() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage the keys dir (every key of a deployment)"}
	initCmd := &cobra.Command{
		Use:   "init [--keys-dir DIR]",
		Short: "Create the missing keys of the keys dir and print the verifier keys",
		Long: `Create the keys missing from --keys-dir (default: the keys dir of --data-dir),
as 0600 files in a 0700 dir; an existing key is never overwritten. Then print the
public keys on stdout: the checkpoint note verifier key (what an auditor checks
checkpoints with, ` + "`ledger verify --verifier-key`" + `), the public nkeys of the ledger's
and the auditor's NATS users, and the token signing key's public key (PEM).
The files created are listed on stderr.

Run it once on the keys dir that every instance of a deployment shares, before
starting them (` + "`ledger serve`" + ` also creates missing keys at start). --origin names the
checkpoint key and must be the servers' --origin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			dirs := datadir.New(v.GetString("data-dir"))
			keys := dirs.KeysDir(v.GetString("keys-dir"))
			if _, _, err := dirs.MoveLegacyTokenKey(keys); err != nil {
				return err
			}
			created, pub, err := keys.Init(v.GetString("origin"))
			if err != nil {
				return err
			}
			for _, f := range created {
				fmt.Fprintf(cmd.ErrOrStderr(), "created %s\n", datadir.Abs(f))
			}
			if len(created) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "every key exists in %s: none created\n", datadir.Abs(keys.Dir))
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "checkpoint verifier key: %s\n", pub.CheckpointVerifierKey)
			fmt.Fprintf(w, "NATS ledger user: %s\n", pub.NATSLedgerPublicKey)
			fmt.Fprintf(w, "NATS auditor user: %s\n", pub.NATSAuditorPublicKey)
			_, err = fmt.Fprintf(w, "token public key:\n%s", pub.TokenPublicKeyPEM)
			return err
		},
	}
	addSettingFlags(initCmd, "keys-dir", "data-dir", "origin")
	keys.AddCommand(initCmd)
	return keys
}
