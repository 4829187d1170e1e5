package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/journal"
)

func newJournalCommand() *cobra.Command {
	j := &cobra.Command{
		Use:   "journal",
		Short: "The security journal (ANSSI-PA-012): verify an export offline",
	}
	verify := &cobra.Command{
		Use:   "verify --dir DIR --verifier-key KEY",
		Short: "Check offline that a security journal export is complete and unaltered",
		Long: `Check offline, with nothing but the journal's verifier key (its origin ends in
"` + journal.OriginSuffix + `"), an export of the security journal: every checkpoint in DIR/` + integrity.ExportCheckpointsFile + `
must be signed by the key; the leaf hashes in DIR/` + integrity.ExportLeafHashesFile + ` (expired entries'
included) must reproduce every signed root; the entries in DIR/` + integrity.ExportEntriesFile + ` must be
consecutive positions up to the latest checkpoint, each hashing to its leaf.
Entries before the first were removed by the retention: the output says how
many, and the time of the oldest entry kept. Exits non-zero on any failure.`,
		Args: cobra.NoArgs,
		RunE: runJournalVerify,
	}
	verify.Flags().String("dir", "", "the export directory")
	verify.Flags().String("verifier-key", "", "the journal's note verifier key (name+hash+base64), or a file holding it; obtain it independently of the export")
	j.AddCommand(verify)
	return j
}

func runJournalVerify(cmd *cobra.Command, _ []string) error {
	v, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	dir, key := v.GetString("dir"), v.GetString("verifier-key")
	if dir == "" || key == "" {
		return errors.New("--dir and --verifier-key are required")
	}
	if b, err := os.ReadFile(key); err == nil {
		key = string(bytes.TrimSpace(b))
	}
	cps, err := os.ReadFile(filepath.Join(dir, integrity.ExportCheckpointsFile))
	if err != nil {
		return err
	}
	entries, err := os.Open(filepath.Join(dir, integrity.ExportEntriesFile))
	if err != nil {
		return err
	}
	defer entries.Close()
	hashes, err := os.Open(filepath.Join(dir, integrity.ExportLeafHashesFile))
	if err != nil {
		return err
	}
	defer hashes.Close()
	res, err := journal.Verify(entries, hashes, cps, key)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "OK: the journal of origin %s has %d leaves (root %s), proven by %d signed checkpoint(s); %d entries checked",
		res.Origin, res.Size, res.Root, res.Checkpoints, res.Entries)
	if res.Expired > 0 {
		fmt.Fprintf(w, "; the first %d expired (their leaf hashes are proven, their entries gone)", res.Expired)
	}
	if res.Entries > 0 {
		fmt.Fprintf(w, "; oldest entry kept: %s", res.Oldest.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	fmt.Fprintln(w)
	return nil
}
