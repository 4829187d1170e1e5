package integrity

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Files of an export: what Log.Export and `ledger export` write into the
// export directory, and what Verify reads.
//
// WARNING: these names are what auditors' scripts look for; never rename
// one.
const (
	// ExportEntriesFile: line k is the entry of leaf k (the event of
	// position k+1, as GET /v1/ledger/entries serves it), for every leaf of
	// the checkpoint in ExportCheckpointFile.
	ExportEntriesFile = "entries.ndjson"
	// ExportCheckpointFile: the signed checkpoint the export is for, the
	// latest when it was made: one C2SP tlog-checkpoint note whose tree size
	// is the number of lines of ExportEntriesFile. Give it to verify to
	// check the whole export against one root.
	ExportCheckpointFile = "checkpoint"
	// ExportCheckpointsFile: every signed checkpoint up to and including
	// that one, oldest first, one note after the other. Give it to verify
	// in place of ExportCheckpointFile to check every checkpoint ever
	// published and to narrow a mismatch to the leaves between two of them.
	ExportCheckpointsFile = "checkpoints"
	// ExportLeafHashesFile: the RFC 6962 hash of every leaf, 32 bytes each,
	// leaf k at offset 32k (binary). Verify trusts it only when it
	// reproduces a signed root, and then uses it to name the first bad leaf
	// exactly.
	ExportLeafHashesFile = "leaf-hashes"
	// ExportVerifierKeyFile: the checkpoints' note verifier key,
	// "name+hash+base64", followed by a newline.
	ExportVerifierKeyFile = "verifier-key"
)

// ExportFiles lists the files of an export with what each holds, in the
// order an auditor reads them; `ledger export --help` prints it.
var ExportFiles = []struct{ Name, Holds string }{
	{ExportEntriesFile, "line k is the entry of leaf k (position k+1), for every leaf of the checkpoint"},
	{ExportCheckpointFile, "the signed checkpoint the export is for (tree size = number of entries)"},
	{ExportCheckpointsFile, "every signed checkpoint up to that one, oldest first"},
	{ExportLeafHashesFile, "the 32-byte hash of every leaf, in order (binary): lets verify name a bad leaf exactly"},
	{ExportVerifierKeyFile, "the checkpoints' note verifier key (name+hash+base64)"},
}

// entriesPage is how many events WriteEntries reads from the store at once.
const entriesPage = 1024

// ExportDir writes the files of an export into a directory, each through
// a temporary file that is fsynced and renamed into place.
type ExportDir struct {
	dir string
}

// CreateExportDir creates dir if needed and returns it as an ExportDir.
func CreateExportDir(dir string) (ExportDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ExportDir{}, fmt.Errorf("export: %w", err)
	}
	return ExportDir{dir: dir}, nil
}

// WriteEntries writes ExportEntriesFile with what write writes (entries,
// each followed by a newline) and ExportLeafHashesFile with their hashes.
// It returns the number of entries.
func (d ExportDir) WriteEntries(write func(w io.Writer) error) (int64, error) {
	var hashes leafHasher
	err := writeFileAtomic(d.dir, ExportEntriesFile, 0o644, func(w io.Writer) error {
		return write(io.MultiWriter(w, &hashes))
	})
	if err != nil {
		return 0, fmt.Errorf("export entries: %w", err)
	}
	if len(hashes.partial) > 0 {
		return 0, fmt.Errorf("export entries: the last entry has no newline")
	}
	if err := writeBytesAtomic(d.dir, ExportLeafHashesFile, 0o644, hashes.out); err != nil {
		return 0, fmt.Errorf("export leaf hashes: %w", err)
	}
	return int64(len(hashes.out) / tlog.HashSize), nil
}

// WriteCheckpoint writes ExportCheckpointFile.
func (d ExportDir) WriteCheckpoint(note []byte) error {
	if err := writeBytesAtomic(d.dir, ExportCheckpointFile, 0o644, note); err != nil {
		return fmt.Errorf("export checkpoint: %w", err)
	}
	return nil
}

// WriteCheckpoints writes ExportCheckpointsFile with what write writes.
func (d ExportDir) WriteCheckpoints(write func(w io.Writer) error) error {
	if err := writeFileAtomic(d.dir, ExportCheckpointsFile, 0o644, write); err != nil {
		return fmt.Errorf("export checkpoints: %w", err)
	}
	return nil
}

// WriteVerifierKey writes ExportVerifierKeyFile.
func (d ExportDir) WriteVerifierKey(vkey string) error {
	if err := writeBytesAtomic(d.dir, ExportVerifierKeyFile, 0o644, []byte(strings.TrimSpace(vkey)+"\n")); err != nil {
		return fmt.Errorf("export verifier key: %w", err)
	}
	return nil
}

// leafHasher is a writer of entry lines that keeps the leaf hash of each.
type leafHasher struct {
	partial []byte
	out     []byte
}

func (h *leafHasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			h.partial = append(h.partial, p...)
			break
		}
		line := p[:i]
		if len(h.partial) > 0 {
			line = append(h.partial, line...)
			h.partial = h.partial[:0]
		}
		lh := LeafHash(line)
		h.out = append(h.out, lh[:]...)
		p = p[i+1:]
	}
	return n, nil
}

// Export writes into dir (created if needed) everything an auditor needs to
// check the log offline: the files of ExportFiles, for the latest
// checkpoint. It returns the checkpoint the export is for.
func (l *Log) Export(ctx context.Context, store eventstore.Store, dir string) (SignedCheckpoint, error) {
	cps := l.checkpoints()
	if len(cps) == 0 {
		return SignedCheckpoint{}, fmt.Errorf("export: %w: none published yet", ErrNoCheckpoint)
	}
	latest := cps[len(cps)-1]
	d, err := CreateExportDir(dir)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	_, err = d.WriteEntries(func(w io.Writer) error {
		n, err := WriteEntries(ctx, w, store, 0, latest.Size)
		if err == nil && n != latest.Size {
			err = fmt.Errorf("the store holds %d of the checkpoint's %d events", n, latest.Size)
		}
		return err
	})
	if err != nil {
		return SignedCheckpoint{}, err
	}
	err = d.WriteCheckpoints(func(w io.Writer) error {
		for _, c := range cps {
			if _, err := w.Write(c.Note); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SignedCheckpoint{}, err
	}
	if err := d.WriteCheckpoint(latest.Note); err != nil {
		return SignedCheckpoint{}, err
	}
	if err := d.WriteVerifierKey(l.key.vkey); err != nil {
		return SignedCheckpoint{}, err
	}
	l.log.Info("integrity: exported", "dir", dir, "size", latest.Size)
	return latest, nil
}

// WriteEntries writes the entries of leaves from, from+1, … (at most
// limit of them), each followed by a newline, as GET /v1/ledger/entries
// serves them, and returns how many it wrote (fewer when the log ends). It
// fails if the store skips or repeats a position.
func WriteEntries(ctx context.Context, w io.Writer, store eventstore.Store, from, limit int64) (int64, error) {
	if from < 0 {
		return 0, fmt.Errorf("write entries from %d: %w: negative index", from, ErrBadRequest)
	}
	var n int64
	buf := make([]byte, 0, 1<<16)
	for n < limit {
		want := uint64(from+n) + 1
		events, err := store.ReadAll(ctx, want, int(min(limit-n, entriesPage)))
		if err != nil {
			return n, fmt.Errorf("write entries from position %d: %w", want, err)
		}
		if len(events) == 0 {
			return n, nil
		}
		buf = buf[:0]
		for i, env := range events {
			if env.Position != want+uint64(i) {
				return n, fmt.Errorf("write entries: %w: store gave position %d, want %d", ErrOutOfOrder, env.Position, want+uint64(i))
			}
			entry, err := Entry(env)
			if err != nil {
				return n, fmt.Errorf("write entries: %w", err)
			}
			buf = append(buf, entry...)
			buf = append(buf, '\n')
		}
		if _, err := w.Write(buf); err != nil {
			return n, fmt.Errorf("write entries: %w", err)
		}
		n += int64(len(events))
	}
	return n, nil
}
