package journal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	njs "github.com/nats-io/nats.go/jetstream"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/integrity"
)

// Export writes into dir (created if needed) what an auditor needs to
// check the journal offline, in the ledger export's file names
// (integrity.ExportFiles): every signed checkpoint up to the latest, the
// leaf hash of EVERY leaf of the latest (expired ones included), the
// entries still held (lines from the oldest kept position to the
// checkpoint's size, each the leaf, beginning with its position) and the
// verifier key. Verify checks it. It returns the checkpoint the export is
// for.
func (j *Journal) Export(ctx context.Context, dir string) (integrity.SignedCheckpoint, error) {
	latest, ok := j.tree.Latest()
	if !ok {
		return latest, fmt.Errorf("export the journal: %w: none published yet", integrity.ErrNoCheckpoint)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return latest, fmt.Errorf("export the journal: %w", err)
	}
	hashes, err := j.tree.LeafHashes(0, latest.Size)
	if err != nil {
		return latest, fmt.Errorf("export the journal: %w", err)
	}
	var entries bytes.Buffer
	if err := j.readLeaves(ctx, latest.Size, func(pos uint64, leaf []byte) error {
		if tlog.RecordHash(leaf) != hashes[pos-1] {
			return fmt.Errorf("the entry at position %d does not hash to its leaf in the tree", pos)
		}
		entries.Write(leaf)
		entries.WriteByte('\n')
		return nil
	}); err != nil {
		return latest, fmt.Errorf("export the journal: %w", err)
	}
	raw := make([]byte, 0, len(hashes)*tlog.HashSize)
	for _, h := range hashes {
		raw = append(raw, h[:]...)
	}
	var notes bytes.Buffer
	for _, size := range j.tree.CheckpointSizes() {
		if size > latest.Size {
			break
		}
		c, err := j.tree.CheckpointAt(ctx, size)
		if err != nil {
			return latest, fmt.Errorf("export the journal: %w", err)
		}
		notes.Write(c.Note)
	}
	for name, data := range map[string][]byte{
		integrity.ExportEntriesFile:     entries.Bytes(),
		integrity.ExportLeafHashesFile:  raw,
		integrity.ExportCheckpointsFile: notes.Bytes(),
		integrity.ExportCheckpointFile:  latest.Note,
		integrity.ExportVerifierKeyFile: []byte(j.tree.VerifierKey() + "\n"),
	} {
		if err := writeFileSync(filepath.Join(dir, name), data); err != nil {
			return latest, fmt.Errorf("export the journal: %w", err)
		}
	}
	return latest, nil
}

// readLeaves calls fn with the leaf of every entry the stream still holds
// up to position upTo, in order.
func (j *Journal) readLeaves(ctx context.Context, upTo int64, fn func(pos uint64, leaf []byte) error) error {
	info, err := j.stream.Info(ctx)
	if err != nil {
		return err
	}
	first := info.State.FirstSeq
	if upTo <= 0 || first > uint64(upTo) || info.State.Msgs == 0 {
		return nil
	}
	cons, err := j.js.OrderedConsumer(ctx, StreamName, njs.OrderedConsumerConfig{
		DeliverPolicy: njs.DeliverByStartSequencePolicy, OptStartSeq: first,
	})
	if err != nil {
		return err
	}
	want := first
	for want <= uint64(upTo) {
		batch, release, err := fetch(ctx, cons, int(min(uint64(upTo)-want+1, 1024)), 2*time.Second)
		if err != nil {
			return err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			pos := md.Sequence.Stream
			if pos > uint64(upTo) {
				return nil
			}
			if pos != want {
				return fmt.Errorf("the stream gave position %d, want %d", pos, want)
			}
			leaf, err := Leaf(pos, m.Data())
			if err != nil {
				return err
			}
			if err := fn(pos, leaf); err != nil {
				return err
			}
			want++
		}
		release()
		if got == 0 {
			return fmt.Errorf("the stream ends at position %d, before %d: %w", want-1, upTo, io.ErrUnexpectedEOF)
		}
	}
	return nil
}
