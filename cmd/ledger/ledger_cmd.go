package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/integrity"
)

// exportPage is how many entries `ledger export` asks for at a time.
const exportPage = 10_000

func newExportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export --out DIR",
		Short: "Write the ledger's entries, its latest signed checkpoint, all earlier ones and its verifier key to DIR",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			out := v.GetString("out")
			if out == "" {
				return errors.New("--out is required")
			}
			c, err := newAPIClient(v, domain.RoleAuditor, "ledger-export")
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			key, err := c.get(ctx, "/v1/ledger/verifier-key")
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			f, err := os.CreateTemp(out, ".entries-*")
			if err != nil {
				return err
			}
			defer os.Remove(f.Name())
			// Export the whole log as it is now, then a checkpoint covering
			// it (and the entries recorded meanwhile, up to that checkpoint).
			bar := newProgress(-1, "exporting entries")
			fetch := func(from, upTo int64) (int64, error) {
				for from < upTo {
					n := min(exportPage, upTo-from)
					page, err := c.get(ctx, "/v1/ledger/entries?from="+strconv.FormatInt(from, 10)+"&limit="+strconv.FormatInt(n, 10))
					if err != nil {
						return from, err
					}
					got := int64(bytes.Count(page, []byte("\n")))
					if _, err := f.Write(page); err != nil {
						return from, err
					}
					from += got
					_ = bar.Set64(from)
					if got < n {
						break // the end of the log
					}
				}
				return from, nil
			}
			size, err := fetch(0, 1<<62)
			if err != nil {
				f.Close()
				return err
			}
			cpNote, err := c.get(ctx, "/v1/ledger/checkpoint?minPosition="+strconv.FormatInt(size, 10))
			if err != nil {
				f.Close()
				return err
			}
			cp, err := integrity.OpenCheckpoint(cpNote, string(bytes.TrimSpace(key)))
			if err != nil {
				f.Close()
				return fmt.Errorf("the server's checkpoint: %w", err)
			}
			if size, err = fetch(size, cp.Size); err != nil {
				f.Close()
				return err
			}
			if size != cp.Size {
				f.Close()
				return fmt.Errorf("exported %d entries but the checkpoint covers %d", size, cp.Size)
			}
			_ = bar.Finish()
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			if err := os.Rename(f.Name(), filepath.Join(out, integrity.ExportEntriesFile)); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, "checkpoint"), cpNote, 0o644); err != nil {
				return err
			}
			// Every checkpoint up to it, so that verify can locate a bad
			// leaf between two of them.
			var all []byte
			for from := int64(0); ; {
				page, err := c.get(ctx, "/v1/ledger/checkpoints?from="+strconv.FormatInt(from, 10)+"&limit=1000")
				if err != nil {
					return err
				}
				notes, err := integrity.SplitNotes(page)
				if err != nil {
					return fmt.Errorf("the server's checkpoints: %w", err)
				}
				for _, n := range notes {
					c, err := integrity.OpenCheckpoint(n, string(bytes.TrimSpace(key)))
					if err != nil {
						return fmt.Errorf("the server's checkpoints: %w", err)
					}
					if c.Size <= cp.Size {
						all = append(all, n...)
					}
					from = c.Size + 1
				}
				if len(notes) < 1000 || from > cp.Size {
					break
				}
			}
			if err := os.WriteFile(filepath.Join(out, "checkpoints"), all, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, "verifier-key"), key, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %d entries and the checkpoint of size %d to %s\n", cp.Size, cp.Size, out)
			return nil
		},
	}
	cmd.Flags().String("out", "", "directory to write entries.ndjson, checkpoint, checkpoints and verifier-key to")
	addClientFlags(cmd)
	return cmd
}

func newVerifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify --entries FILE --checkpoint FILE --verifier-key KEY",
		Short: "Check offline that the entries reproduce the signed checkpoint(s); names the first bad leaf",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			entriesPath, cpPath, key := v.GetString("entries"), v.GetString("checkpoint"), v.GetString("verifier-key")
			if entriesPath == "" || cpPath == "" || key == "" {
				return errors.New("--entries, --checkpoint and --verifier-key are required")
			}
			if b, err := os.ReadFile(key); err == nil { // a file holding the key
				key = string(bytes.TrimSpace(b))
			}
			cp, err := os.ReadFile(cpPath)
			if err != nil {
				return err
			}
			f, err := os.Open(entriesPath)
			if err != nil {
				return err
			}
			defer f.Close()
			bar := newProgress(-1, "verifying entries")
			res, err := integrity.Verify(f, cp, key, func(n int) { _ = bar.Set(n) })
			_ = bar.Finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "OK: %d entries reproduce the checkpoint of size %d (origin %s, %d checkpoint(s) checked)", res.Entries, res.Size, res.Origin, res.Checkpoints)
			if res.Unverified > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "; %d later entries are not covered by a checkpoint", res.Unverified)
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().String("entries", "", "entries file (one entry a line, as exported)")
	cmd.Flags().String("checkpoint", "", "signed checkpoint file (one note, or several one after the other)")
	cmd.Flags().String("verifier-key", "", "the note verifier key (name+hash+base64), or a file holding it")
	return cmd
}
