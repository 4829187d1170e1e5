package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/auth"
)

func newTokenCommand() *cobra.Command {
	token := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	issue := &cobra.Command{
		Use:   "issue --role R --subject S [--ttl 1h]",
		Short: "Print a token signed by the token key of the keys dir (the key is created if there is none)",
		Long: `Print a token signed by the token key of --keys-dir (default: the keys dir of
--data-dir), creating the key if there is none yet (a server started with that
keys dir later uses it). The data dir (or the --keys-dir given) must exist: a
wrong --data-dir (or working directory) fails instead of creating a new key
whose tokens the server would refuse.

The token carries iss, aud and a random jti (` + "`ledger token revoke --of TOKEN`" + `
revokes it). --ttl may not exceed the role's maximum lifetime
(--token-lifetimes; by default admin 1h, auditor and regulator 8h, bank and
company 24h): the server refuses longer-lived tokens.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			p, err := auth.ValidatePrincipal(v.GetString("role"), v.GetString("subject"))
			if err != nil {
				return err
			}
			ttl, err := durationFlag(v, "ttl")
			if err != nil {
				return err
			}
			lifetimes, err := auth.ParseLifetimes(v.GetString("token-lifetimes"))
			if err != nil {
				return err
			}
			keys, err := existingKeys(v)
			if err != nil {
				return err
			}
			s, err := auth.LoadOrCreateKeyFile(keys.TokenKey)
			if err != nil {
				return err
			}
			s.SetLifetimes(lifetimes)
			t, err := s.Issue(p, ttl)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), t)
			return err
		},
	}
	issue.Flags().String("role", "", "company, bank, auditor, regulator or admin")
	issue.Flags().String("subject", "", "a company's SIREN, a bank's code, or a person's id")
	issue.Flags().String("ttl", "1h", "lifetime of the token (at most the role's, see token-lifetimes)")
	addSettingFlags(issue, "data-dir", "keys-dir", "token-lifetimes")
	token.AddCommand(issue, newTokenRevokeCommand())
	return token
}
