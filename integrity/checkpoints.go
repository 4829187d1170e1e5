package integrity

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
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

// checkpointFile is the file of checkpoints and its index. The caller
// serializes access.
type checkpointFile struct {
	f      *os.File
	end    int64
	refs   []cpRef
	latest SignedCheckpoint
}

func openCheckpointFile(dir string, k *key, log *slog.Logger) (*checkpointFile, error) {
	path := filepath.Join(dir, checkpointsName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open checkpoints: %w", err)
	}
	cf := &checkpointFile{f: f}
	if err := cf.load(k, log); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open checkpoints %s: %w", path, err)
	}
	return cf, nil
}

func (cf *checkpointFile) load(k *key, log *slog.Logger) error {
	sc := newNoteScanner(cf.f)
	var last []byte
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
		text, err := noteText(signed)
		if err != nil {
			return fmt.Errorf("checkpoint at byte %d: %w", off, err)
		}
		c, err := ParseCheckpoint(text)
		if err != nil {
			return fmt.Errorf("checkpoint at byte %d: %w", off, err)
		}
		if n := len(cf.refs); n > 0 && c.Size <= cf.refs[n-1].size {
			return fmt.Errorf("checkpoint at byte %d: size %d after size %d", off, c.Size, cf.refs[n-1].size)
		}
		cf.refs = append(cf.refs, cpRef{size: c.Size, off: off, end: off + int64(len(signed))})
		last = signed
	}
	if fi, err := cf.f.Stat(); err != nil {
		return fmt.Errorf("stat: %w", err)
	} else if fi.Size() != cf.end {
		if err := cf.f.Truncate(cf.end); err != nil {
			return fmt.Errorf("truncate: %w", err)
		}
		if err := cf.f.Sync(); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
	}
	if last == nil {
		return nil
	}
	latest, err := openCheckpoint(last, k.verifier)
	if err != nil {
		return fmt.Errorf("latest checkpoint: %w", err)
	}
	cf.latest = latest
	return nil
}

// append durably adds a checkpoint larger than the latest.
func (cf *checkpointFile) append(c SignedCheckpoint) error {
	if n := len(cf.refs); n > 0 && c.Size <= cf.refs[n-1].size {
		return fmt.Errorf("publish checkpoint %d: not after %d", c.Size, cf.refs[n-1].size)
	}
	if _, err := cf.f.WriteAt(c.Note, cf.end); err != nil {
		return fmt.Errorf("publish checkpoint %d: %w", c.Size, err)
	}
	if err := cf.f.Sync(); err != nil {
		return fmt.Errorf("publish checkpoint %d: %w", c.Size, err)
	}
	cf.refs = append(cf.refs, cpRef{size: c.Size, off: cf.end, end: cf.end + int64(len(c.Note))})
	cf.end += int64(len(c.Note))
	cf.latest = c
	return nil
}

// find returns the checkpoint of the given size.
func (cf *checkpointFile) find(size int64) (SignedCheckpoint, bool, error) {
	i := sort.Search(len(cf.refs), func(i int) bool { return cf.refs[i].size >= size })
	if i == len(cf.refs) || cf.refs[i].size != size {
		return SignedCheckpoint{}, false, nil
	}
	r := cf.refs[i]
	buf := make([]byte, r.end-r.off)
	if _, err := cf.f.ReadAt(buf, r.off); err != nil {
		return SignedCheckpoint{}, false, fmt.Errorf("read checkpoint %d: %w", size, err)
	}
	text, err := noteText(buf)
	if err != nil {
		return SignedCheckpoint{}, false, err
	}
	c, err := ParseCheckpoint(text)
	if err != nil {
		return SignedCheckpoint{}, false, err
	}
	return SignedCheckpoint{Checkpoint: c, Note: buf}, true, nil
}

func (cf *checkpointFile) close() error { return cf.f.Close() }
