package integrity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// checkpointsName is the append-only file of every published signed
// checkpoint, one note after the other, by increasing size. A torn note at
// its end (a crash while publishing) is cut off on open.
const checkpointsName = "checkpoints"

// cpRef locates a checkpoint in the file.
type cpRef struct {
	size     int64
	off, end int64
}

// checkpointFile is the CheckpointStore of a single instance: the file of
// checkpoints and its index. The note of sequence s is refs[s-1].
type checkpointFile struct {
	mu   sync.RWMutex
	f    *os.File
	end  int64
	refs []cpRef
}

var _ CheckpointStore = (*checkpointFile)(nil)

func openCheckpointFile(dir string, log *slog.Logger) (*checkpointFile, error) {
	path := filepath.Join(dir, checkpointsName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open checkpoints: %w", err)
	}
	cf := &checkpointFile{f: f}
	if err := cf.load(log); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open checkpoints %s: %w", path, err)
	}
	return cf, nil
}

func (cf *checkpointFile) load(log *slog.Logger) error {
	sc := newNoteScanner(cf.f)
	for {
		signed, off, err := sc.next()
		if errors.Is(err, errTornNote) {
			log.Warn("integrity: cutting off a torn checkpoint at the end of the checkpoints file", "offset", off)
			cf.end = off
			break
		}
		if err == io.EOF {
			cf.end = sc.off
			break
		}
		if err != nil {
			return fmt.Errorf("read checkpoint at byte %d: %w", off, err)
		}
		c, err := parseNote(signed)
		if err != nil {
			return fmt.Errorf("checkpoint at byte %d: %w", off, err)
		}
		if n := len(cf.refs); n > 0 && c.Size <= cf.refs[n-1].size {
			return fmt.Errorf("checkpoint at byte %d: size %d after size %d", off, c.Size, cf.refs[n-1].size)
		}
		cf.refs = append(cf.refs, cpRef{size: c.Size, off: off, end: off + int64(len(signed))})
	}
	fi, err := cf.f.Stat()
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if fi.Size() != cf.end {
		if err := cf.f.Truncate(cf.end); err != nil {
			return fmt.Errorf("truncate: %w", err)
		}
		if err := cf.f.Sync(); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	return nil
}

// Append implements CheckpointStore: it durably adds a checkpoint larger
// than the latest.
func (cf *checkpointFile) Append(ctx context.Context, after uint64, size int64, note []byte) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("publish checkpoint %d: %w", size, err)
	}
	cf.mu.Lock()
	defer cf.mu.Unlock()
	n := len(cf.refs)
	if after != uint64(n) {
		return 0, fmt.Errorf("publish checkpoint %d after #%d: %w: the file has %d", size, after, eventstore.ErrConcurrency, n)
	}
	if n > 0 && size <= cf.refs[n-1].size {
		return 0, fmt.Errorf("publish checkpoint %d: not after %d", size, cf.refs[n-1].size)
	}
	if _, err := cf.f.WriteAt(note, cf.end); err != nil {
		return 0, fmt.Errorf("publish checkpoint %d: %w", size, err)
	}
	if err := cf.f.Sync(); err != nil {
		return 0, fmt.Errorf("publish checkpoint %d: %w", size, err)
	}
	cf.refs = append(cf.refs, cpRef{size: size, off: cf.end, end: cf.end + int64(len(note))})
	cf.end += int64(len(note))
	return uint64(n + 1), nil
}

// Read implements CheckpointStore.
func (cf *checkpointFile) Read(ctx context.Context, from uint64, limit int) ([]StoredNote, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	cf.mu.RLock()
	defer cf.mu.RUnlock()
	from = max(from, 1)
	if from > uint64(len(cf.refs)) || limit <= 0 {
		return nil, nil
	}
	refs := cf.refs[from-1:]
	refs = refs[:min(len(refs), limit)]
	buf := make([]byte, refs[len(refs)-1].end-refs[0].off)
	if _, err := cf.f.ReadAt(buf, refs[0].off); err != nil {
		return nil, fmt.Errorf("read checkpoints from #%d: %w", from, err)
	}
	out := make([]StoredNote, len(refs))
	for i, r := range refs {
		out[i] = StoredNote{Seq: from + uint64(i), Size: r.size, Note: buf[r.off-refs[0].off : r.end-refs[0].off : r.end-refs[0].off]}
	}
	return out, nil
}

// Wait implements CheckpointStore: only this instance appends to its
// file, so there is never news to wait for.
func (cf *checkpointFile) Wait(ctx context.Context, _ uint64) error {
	<-ctx.Done()
	return ctx.Err()
}

func (cf *checkpointFile) close() error { return cf.f.Close() }

// parseNote parses the checkpoint of a signed note without checking its
// signature.
func parseNote(signed []byte) (Checkpoint, error) {
	text, err := noteText(signed)
	if err != nil {
		return Checkpoint{}, err
	}
	return ParseCheckpoint(text)
}
