package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/integrity"
)

func newVerifyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify --entries FILE --checkpoint FILE --verifier-key KEY",
		Short: "Check offline that the entries reproduce the signed checkpoint(s); names the first bad leaf",
		Long: `Check offline, with nothing but the verifier key, that the entries reproduce
the signed checkpoint(s): every checkpoint given must be signed by the key, and
the tree of the entries must have each checkpoint's root at its size.

On a mismatch it names the first leaf that does not match: exactly when the
export's ` + integrity.ExportLeafHashesFile + ` file is given (by default the one beside the entries)
and reproduces the checkpoint's root, else the leaves between the last
checkpoint the entries reproduce and the first they do not (give the
` + integrity.ExportCheckpointsFile + ` file to check every checkpoint). Only the signed roots are trusted:
the output says what is proven. Exits non-zero on any mismatch.`,
		Args: cobra.NoArgs,
		RunE: runVerify,
	}
	cmd.Flags().String("entries", "", "entries file (one entry a line, as exported)")
	cmd.Flags().String("checkpoint", "", "signed checkpoint file (one note, or several one after the other)")
	cmd.Flags().String("verifier-key", "", "the note verifier key (name+hash+base64), or a file holding it")
	cmd.Flags().String("leaf-hashes", "", "the export's leaf hashes, to name a bad leaf exactly (default: "+integrity.ExportLeafHashesFile+" beside --entries, if present)")
	return cmd
}

func runVerify(cmd *cobra.Command, _ []string) error {
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
	hashes, err := openLeafHashes(v.GetString("leaf-hashes"), entriesPath)
	if err != nil {
		return err
	}
	opt := integrity.VerifyOptions{}
	if hashes != nil {
		defer hashes.Close()
		opt.LeafHashes = hashes
	}
	bar := newProgress(-1, "verifying entries")
	opt.Progress = func(n int) { _ = bar.Set(n) }
	res, err := integrity.VerifyWith(f, cp, key, opt)
	_ = bar.Finish()
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "OK: %d entries reproduce the checkpoint of size %d (origin %s, %d checkpoint(s) checked)", res.Entries, res.Size, res.Origin, res.Checkpoints)
	if res.Unverified > 0 {
		fmt.Fprintf(w, "; %d later entries are not covered by a checkpoint", res.Unverified)
	}
	fmt.Fprintln(w)
	return nil
}

// openLeafHashes opens the leaf hashes file: path, or the export's file
// beside the entries when path is empty (nil if there is none).
func openLeafHashes(path, entriesPath string) (io.ReadCloser, error) {
	if path != "" {
		return os.Open(path)
	}
	f, err := os.Open(filepath.Join(filepath.Dir(entriesPath), integrity.ExportLeafHashesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return f, err
}
