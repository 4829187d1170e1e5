package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
)

// newTokenRevokeCommand is `ledger token revoke`: it asks the running
// server (POST /v1/admin/revocations, as an admin) to revoke a token id in
// the cluster, where every instance learns it within seconds.
func newTokenRevokeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke (--jti J [--until 2026-12-01T00:00:00Z] | --of TOKEN) [--reason R]",
		Short: "Revoke a token by its id (jti): every instance of the deployment refuses it within 5 s",
		Long: `Revoke a token by its id (its jti claim), or give the token itself (--of):
its jti and its expiry (the revocation's end) are read from it. The running server (--server) records the revocation in the
cluster (the LEDGER_REVOCATIONS bucket): every instance refuses the token
within 5 seconds. --until is when the revocation may be forgotten, the token's
expiry; by default the longest token lifetime from now. The call is made as an
admin, with a token minted from the keys dir, or with --token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			body := map[string]any{"jti": v.GetString("jti")}
			if of := v.GetString("of"); of != "" {
				jti, exp, err := tokenIDOf(of)
				if err != nil {
					return err
				}
				body["jti"], body["until"] = jti, exp.UTC()
			} else if v.GetString("jti") == "" {
				return fmt.Errorf("give the token's id (--jti) or the token (--of)")
			}
			if u := v.GetString("until"); u != "" {
				t, err := time.Parse(time.RFC3339, u)
				if err != nil {
					return fmt.Errorf("until %q: want an RFC 3339 instant: %w", u, err)
				}
				body["until"] = t.UTC()
			}
			if r := v.GetString("reason"); r != "" {
				body["reason"] = r
			}
			c, err := newAPIClient(v, 1)
			if err != nil {
				return err
			}
			var rev auth.Revocation
			if err := c.post(cmd.Context(), auth.Principal{Role: domain.RoleAdmin, Subject: "ledger-cli"}, "/v1/admin/revocations", body, &rev); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "revoked %s until %s\n", rev.JTI, rev.Until.UTC().Format(time.RFC3339))
			return err
		},
	}
	cmd.Flags().String("jti", "", "the token's id")
	cmd.Flags().String("of", "", "the token itself: revoke its jti until its expiry")
	cmd.Flags().String("until", "", "when the revocation may be forgotten: the token's expiry (RFC 3339; default now plus the longest token lifetime)")
	cmd.Flags().String("reason", "", "why (kept with the revocation)")
	addClientFlags(cmd)
	return cmd
}

// tokenIDOf reads the jti and the expiry of a token, without checking its
// signature: the server revokes an id, whatever holds it.
func tokenIDOf(token string) (jti string, exp time.Time, err error) {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(strings.TrimSpace(token), &c); err != nil {
		return "", time.Time{}, fmt.Errorf("--of: not a token: %w", err)
	}
	if c.ID == "" || c.ExpiresAt == nil {
		return "", time.Time{}, fmt.Errorf("--of: the token has no jti or no exp: it cannot be revoked by id (rotate the token key instead)")
	}
	return c.ID, c.ExpiresAt.Time, nil
}
