package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
)

func newReportCommand() *cobra.Command {
	report := &cobra.Command{Use: "report", Short: "Reports of a running server"}
	sec := &cobra.Command{
		Use:   "security --from FROM --to TO --out FILE [--format json|html]",
		Short: "Write the security report of a period (ANSSI style) to FILE",
		Long: "Fetch GET /v1/reports/security from a running server and write it to FILE (mode 0600: it names\n" +
			"source addresses): the period's authentications and denials per tenant, brute-force and flood\n" +
			"episodes, admin actions, keys and rotations, the integrity of the security journal and of the\n" +
			"ledger with the proofs checked, untrusted events, the clock, the coverage of ANSSI-PA-012 and the\n" +
			"open findings. FROM and TO are RFC 3339 instants or dates (midnight UTC); TO is excluded.\n" +
			"--format html writes a printable page (French labels); the default is JSON.\n" +
			"Calls as an auditor, with --token or a token minted from the key in --data-dir.",
		Args: cobra.NoArgs,
		RunE: runSecurityReport,
	}
	sec.Flags().String("from", "", "start of the period, included (RFC 3339 instant or YYYY-MM-DD)")
	sec.Flags().String("to", "", "end of the period, excluded (RFC 3339 instant or YYYY-MM-DD)")
	sec.Flags().String("out", "", "file to write the report to (replaced)")
	sec.Flags().String("format", "json", "json or html")
	addClientFlags(sec)
	report.AddCommand(sec)
	return report
}

func runSecurityReport(cmd *cobra.Command, _ []string) error {
	v, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	from, to, out, format := v.GetString("from"), v.GetString("to"), v.GetString("out"), v.GetString("format")
	switch {
	case from == "" || to == "":
		return errors.New("--from and --to are required")
	case out == "":
		return errors.New("--out is required")
	case format != "json" && format != "html":
		return fmt.Errorf("--format %q: want json or html", format)
	}
	c, err := newAPIClient(v, 1)
	if err != nil {
		return err
	}
	q := url.Values{"from": {from}, "to": {to}, "format": {format}}
	body, err := c.get(cmd.Context(), auth.Principal{Role: domain.RoleAuditor, Subject: "ledger-report"}, "/v1/reports/security?"+q.Encode())
	if err != nil {
		return err
	}
	if err := writeReportFile(out, body); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote the security report from %s to %s (%s, %d bytes) to %s\n", from, to, format, len(body), out)
	return nil
}

// writeReportFile replaces path with data, mode 0600, through a
// temporary file in the same directory: a reader never sees half a
// report.
func writeReportFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write the report: %w", err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}
