package main

import (
	"github.com/spf13/cobra"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "ledger",
		Short:         "The PGE attestation ledger",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "configuration file (default: ./ledger.yaml if present)")
	root.AddCommand(newServeCommand(), newTokenCommand(), newKeysCommand(), newDemoCommand(), newProjectionsCommand(),
		newExportCommand(), newVerifyCommand(), newJournalCommand(), newBenchCommand(), newSubmitCommand(), newVersionCommand(), newReportCommand())
	return root
}
