package integrity

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// Files that Export writes.
//
// WARNING: these names are what auditors' scripts look for; never rename
// one.
const (
	// ExportEntriesFile: line k is the entry of leaf k, for every leaf of
	// the latest checkpoint.
	ExportEntriesFile = "entries.ndjson"
	// ExportCheckpointFile: the latest signed checkpoint.
	ExportCheckpointFile = "checkpoint"
	// ExportCheckpointsFile: every signed checkpoint up to the latest, one
	// note after the other; Verify accepts it in place of the checkpoint to
	// locate a mismatch more precisely.
	ExportCheckpointsFile = "checkpoints"
	// ExportVerifierKeyFile: the verifier key, "name+hash+base64".
	ExportVerifierKeyFile = "verifier-key"
)

// entriesPage is how many events WriteEntries reads from the store at once.
const entriesPage = 1024

// Export writes into dir (created if needed) everything an auditor needs to
// check the log offline: the entries of every leaf of the latest
// checkpoint, that checkpoint, all checkpoints up to it, and the verifier
// key. Each file is written to a temporary name, fsynced and renamed. It
// returns the checkpoint the export is for.
func (l *Log) Export(ctx context.Context, store eventstore.Store, dir string) (SignedCheckpoint, error) {
	l.mu.RLock()
	latest, ok := l.cps.latest, len(l.cps.refs) > 0
	var end int64
	if ok {
		end = l.cps.refs[len(l.cps.refs)-1].end
	}
	l.mu.RUnlock()
	if !ok {
		return SignedCheckpoint{}, fmt.Errorf("export: %w: none published yet", ErrNoCheckpoint)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return SignedCheckpoint{}, fmt.Errorf("export: %w", err)
	}
	err := writeFileAtomic(dir, ExportEntriesFile, 0o644, func(w io.Writer) error {
		n, err := WriteEntries(ctx, w, store, 0, latest.Size)
		if err == nil && n != latest.Size {
			err = fmt.Errorf("the store holds %d of the checkpoint's %d events", n, latest.Size)
		}
		return err
	})
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("export entries: %w", err)
	}
	err = writeFileAtomic(dir, ExportCheckpointsFile, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, io.NewSectionReader(l.cps.f, 0, end)) // the file only grows past end
		return err
	})
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("export checkpoints: %w", err)
	}
	if err := writeBytesAtomic(dir, ExportCheckpointFile, 0o644, latest.Note); err != nil {
		return SignedCheckpoint{}, fmt.Errorf("export checkpoint: %w", err)
	}
	if err := writeBytesAtomic(dir, ExportVerifierKeyFile, 0o644, []byte(l.key.vkey+"\n")); err != nil {
		return SignedCheckpoint{}, fmt.Errorf("export verifier key: %w", err)
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
