package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/integrity"
)

// exportPage is how many entries `ledger export` asks for at a time, and
// checkpointsPage how many checkpoints.
const (
	exportPage      = 10_000
	checkpointsPage = 1000
)

func newExportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export --out DIR",
		Short: "Write the ledger's entries, its signed checkpoints, its leaf hashes and its verifier key to DIR",
		Long:  exportHelp(),
		Args:  cobra.NoArgs,
		RunE:  runExport,
	}
	cmd.Flags().String("out", "", "directory to write the export to (created if needed; files in it are replaced)")
	addClientFlags(cmd)
	return cmd
}

// exportHelp is export's help, listing every file it writes.
func exportHelp() string {
	var b strings.Builder
	b.WriteString("Export the verifiable log of a running server, for an auditor to check offline\n" +
		"with `ledger verify` (or any RFC 6962 / C2SP checkpoint tooling). It writes into DIR:\n\n")
	for _, f := range integrity.ExportFiles {
		fmt.Fprintf(&b, "  %-15s %s\n", f.Name, f.Holds)
	}
	b.WriteString("\nThen: ledger verify --entries DIR/" + integrity.ExportEntriesFile +
		" --checkpoint DIR/" + integrity.ExportCheckpointsFile + " --verifier-key DIR/" + integrity.ExportVerifierKeyFile + "\n" +
		"Calls as an auditor, with --token or a token minted from the key in --data-dir.")
	return b.String()
}

func runExport(cmd *cobra.Command, _ []string) error {
	v, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	out := v.GetString("out")
	if out == "" {
		return errors.New("--out is required")
	}
	c, err := newAPIClient(v, 4)
	if err != nil {
		return err
	}
	e := &exporter{c: c, as: auth.Principal{Role: domain.RoleAuditor, Subject: "ledger-export"}}
	cp, err := e.export(cmd.Context(), out)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "exported %d entries and the checkpoints up to size %d to %s\n", cp.Size, cp.Size, out)
	return nil
}

// exporter writes an export through the API.
type exporter struct {
	c  *apiClient
	as auth.Principal
}

// export writes the whole log as it is now, then a checkpoint covering it
// (and the entries recorded meanwhile, up to that checkpoint), every
// checkpoint up to it and the verifier key. It returns the checkpoint.
func (e *exporter) export(ctx context.Context, out string) (integrity.SignedCheckpoint, error) {
	key, err := e.c.get(ctx, e.as, "/v1/ledger/verifier-key")
	if err != nil {
		return integrity.SignedCheckpoint{}, err
	}
	d, err := integrity.CreateExportDir(out)
	if err != nil {
		return integrity.SignedCheckpoint{}, err
	}
	var cp integrity.SignedCheckpoint
	bar := newProgress(-1, "exporting entries")
	n, err := d.WriteEntries(func(w io.Writer) error {
		size, err := e.entries(ctx, w, 0, 1<<62, bar)
		if err != nil {
			return err
		}
		if cp, err = e.checkpoint(ctx, size, string(key)); err != nil {
			return err
		}
		_, err = e.entries(ctx, w, size, cp.Size, bar)
		return err
	})
	_ = bar.Finish()
	switch {
	case err != nil:
		return cp, err
	case n != cp.Size:
		return cp, fmt.Errorf("exported %d entries but the checkpoint covers %d", n, cp.Size)
	}
	if err := d.WriteCheckpoint(cp.Note); err != nil {
		return cp, err
	}
	if err := d.WriteCheckpoints(func(w io.Writer) error { return e.checkpoints(ctx, w, cp.Size, string(key)) }); err != nil {
		return cp, err
	}
	return cp, d.WriteVerifierKey(string(key))
}

// entries writes the entries of leaves [from, upTo) to w, page by page,
// until the log ends, and returns the index after the last one written.
func (e *exporter) entries(ctx context.Context, w io.Writer, from, upTo int64, bar *progressbar.ProgressBar) (int64, error) {
	for from < upTo {
		n := min(exportPage, upTo-from)
		page, err := e.c.get(ctx, e.as, "/v1/ledger/entries?from="+strconv.FormatInt(from, 10)+"&limit="+strconv.FormatInt(n, 10))
		if err != nil {
			return from, err
		}
		got := int64(bytes.Count(page, []byte("\n")))
		if _, err := w.Write(page); err != nil {
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

// checkpoint returns the server's signed checkpoint covering at least size
// leaves, checked with the verifier key.
func (e *exporter) checkpoint(ctx context.Context, size int64, key string) (integrity.SignedCheckpoint, error) {
	note, err := e.c.get(ctx, e.as, "/v1/ledger/checkpoint?minPosition="+strconv.FormatInt(size, 10))
	if err != nil {
		return integrity.SignedCheckpoint{}, err
	}
	cp, err := integrity.OpenCheckpoint(note, strings.TrimSpace(key))
	if err != nil {
		return cp, fmt.Errorf("the server's checkpoint: %w", err)
	}
	return cp, nil
}

// checkpoints writes every signed checkpoint of size at most upTo to w,
// oldest first, each checked with the verifier key.
func (e *exporter) checkpoints(ctx context.Context, w io.Writer, upTo int64, key string) error {
	for from := int64(0); from <= upTo; {
		page, err := e.c.get(ctx, e.as, "/v1/ledger/checkpoints?from="+strconv.FormatInt(from, 10)+"&limit="+strconv.Itoa(checkpointsPage))
		if err != nil {
			return err
		}
		notes, err := integrity.SplitNotes(page)
		if err != nil {
			return fmt.Errorf("the server's checkpoints: %w", err)
		}
		for _, n := range notes {
			c, err := integrity.OpenCheckpoint(n, strings.TrimSpace(key))
			if err != nil {
				return fmt.Errorf("the server's checkpoints: %w", err)
			}
			if c.Size <= upTo {
				if _, err := w.Write(n); err != nil {
					return err
				}
			}
			from = c.Size + 1
		}
		if len(notes) < checkpointsPage {
			return nil
		}
	}
	return nil
}
