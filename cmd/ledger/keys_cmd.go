package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
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

With --nats-auth FILE it also writes, from the public nkeys, the accounts that
every nats-server of an external cluster includes (include "FILE"): the ledger's
user, in account LEDGER with JetStream, may do anything but delete or purge a
stream or a message; the auditor's user, in account AUDIT, may only read the
ledger stream. FILE holds no secret and is rewritten each time.

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
			if out := v.GetString("nats-auth"); out != "" {
				if err := writeNATSAuth(keys, out); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote the NATS servers' authorization to %s\n", datadir.Abs(out))
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
	initCmd.Flags().String("nats-auth", "", "also write the authorization to include in every external nats-server's configuration (accounts LEDGER and AUDIT, public nkeys only) to this file")
	keys.AddCommand(initCmd, newKeysListCommand(), newKeysProvenanceCommand())
	return keys
}

// keysDirOf is the keys dir of the command's --keys-dir or --data-dir.
func keysDirOf(cmd *cobra.Command) (datadir.Keys, error) {
	v, err := loadConfig(cmd)
	if err != nil {
		return datadir.Keys{}, err
	}
	return existingKeys(v)
}

func newKeysListCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list [--keys-dir DIR] [--json]",
		Short: "List every key of the keys dir: name, purpose, public id, status, mode, last change; never a secret",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := keysDirOf(cmd)
			if err != nil {
				return err
			}
			inv := keys.Inventory()
			w := cmd.OutOrStdout()
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(inv)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tSTATUS\tID\tMODE\tCHANGED\tPROBLEM")
			for _, k := range inv {
				changed := ""
				if !k.Modified.IsZero() {
					changed = k.Modified.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Name, k.Status, k.ID, k.Mode, changed, k.Problem)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().Bool("json", false, "print JSON")
	addSettingFlags(cmd, "keys-dir", "data-dir")
	return cmd
}

func newKeysProvenanceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "provenance",
		Short: "Rotate the event-provenance key in two steps: stage a new key, then promote it",
		Long: `The provenance key proves the ledger wrote each event. An instance that does not
know a key counts every event signed with it as forged, so a rotation takes two
steps, each followed by a rolling restart of every instance of the deployment:

  ledger keys provenance stage            # a new key, verify-only: restart every instance
  ledger keys provenance promote KEY_ID   # it signs from now on: restart every instance

The former keys stay in the keyring to verify the events they signed; a key is
never removed. ` + "`ledger keys list`" + ` shows the keyring.`,
	}
	stage := &cobra.Command{
		Use:   "stage",
		Short: "Add a new provenance key, verify-only, and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := keysDirOf(cmd)
			if err != nil {
				return err
			}
			id, err := keys.StageProvenanceKey()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "staged provenance key %s (verify-only) in %s; restart every instance, then run: ledger keys provenance promote %s\n", id, datadir.Abs(keys.Provenance), id)
			_, err = fmt.Fprintln(cmd.OutOrStdout(), id)
			return err
		},
	}
	promote := &cobra.Command{
		Use:   "promote KEY_ID",
		Short: "Make a staged provenance key the one that signs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := keysDirOf(cmd)
			if err != nil {
				return err
			}
			if err := keys.PromoteProvenanceKey(args[0]); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "provenance key %s now signs; restart every instance\n", args[0])
			return err
		},
	}
	for _, c := range []*cobra.Command{stage, promote} {
		addSettingFlags(c, "keys-dir", "data-dir")
	}
	cmd.AddCommand(stage, promote)
	return cmd
}

// writeNATSAuth writes the NATS servers' authorization for the keys' users.
func writeNATSAuth(keys datadir.Keys, path string) error {
	_, ledger, err := datadir.LoadNATSSeed(keys.NATSLedger)
	if err != nil {
		return err
	}
	_, auditor, err := datadir.LoadNATSSeed(keys.NATSAuditor)
	if err != nil {
		return err
	}
	conf, err := jetstream.ServerAuthConfig(ledger, []string{auditor})
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("write the NATS authorization: %w", err)
	}
	return nil
}
