package journal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Files of the writer, in Config.Dir.
const (
	// spillName receives the entries that found the memory queue full (or
	// the journal closed): one "subject id data" line each.
	spillName = "journal-spill"
	// sendingName is the spill file being published: renamed from
	// spillName, removed once every line is acknowledged.
	sendingName = "journal-spill.sending"
)

// pending is an entry on its way to the journal stream.
type pending struct {
	id, subject string
	data        []byte
}

// writer queues entries and publishes them in batches. Nothing is dropped
// while the disk takes the spill file; see the package doc.
type writer struct {
	log     *slog.Logger
	dir     string
	limit   int
	publish func(context.Context, []pending) error

	mu      sync.Mutex // guards what follows
	queue   []pending
	spill   *os.File // open for appending, nil until needed
	spilled int64    // lines in the spill and sending files not yet published
	sendOff int64    // offset of the first unpublished line of the sending file
	sendEnd int64    // offset after the lines of the batch being published
	closed  bool
	lastErr error
	errAt   time.Time

	wake    chan struct{}
	done    chan struct{} // closed when run returns
	dropped atomic.Uint64
	sent    atomic.Uint64
}

func newWriter(cfg Config, publish func(context.Context, []pending) error) (*writer, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal dir: %w", err)
	}
	w := &writer{log: cfg.Logger, dir: cfg.Dir, limit: cfg.Buffer, publish: publish,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	for _, name := range []string{spillName, sendingName} {
		n, err := countLines(filepath.Join(cfg.Dir, name))
		if err != nil {
			return nil, err
		}
		w.spilled += n
	}
	if w.spilled > 0 {
		w.log.Warn("journal: entries left in the spill file will be published", "entries", w.spilled)
	}
	return w, nil
}

// add queues p, or spills it when the queue is full or the writer
// closed. Only when the spill file cannot be written either is p lost,
// counted in Status().Dropped and recorded as a journal.loss entry later.
func (w *writer) add(p pending) {
	w.mu.Lock()
	if !w.closed && len(w.queue) < w.limit {
		w.queue = append(w.queue, p)
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
		return
	}
	err := w.spillLocked([]pending{p})
	w.mu.Unlock()
	if err != nil {
		if w.dropped.Add(1) == 1 {
			w.log.Error("journal: JOURNAL ENTRIES LOST: the memory queue is full and the spill file cannot be written", "err", err)
		}
	}
}

// spillLocked appends ps to the spill file (w.mu held).
func (w *writer) spillLocked(ps []pending) error {
	if w.spill == nil {
		f, err := os.OpenFile(filepath.Join(w.dir, spillName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("open the journal spill file: %w", err)
		}
		w.spill = f
	}
	var buf bytes.Buffer
	for _, p := range ps {
		buf.WriteString(p.subject)
		buf.WriteByte(' ')
		buf.WriteString(p.id)
		buf.WriteByte(' ')
		buf.Write(p.data)
		buf.WriteByte('\n')
	}
	if _, err := w.spill.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write the journal spill file: %w", err)
	}
	w.spilled += int64(len(ps))
	return nil
}

// run publishes the queue, then the spill file, until ctx ends or the
// writer is closed and empty.
func (w *writer) run(ctx context.Context) {
	defer close(w.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	backoff := 100 * time.Millisecond
	for {
		batch, fromSpill, err := w.next()
		if err != nil {
			w.setErr(err)
		}
		if len(batch) == 0 {
			w.mu.Lock()
			finished := w.closed && len(w.queue) == 0 && w.spilled == 0
			w.mu.Unlock()
			if finished {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			case <-tick.C:
			}
			continue
		}
		for {
			err := w.publish(ctx, batch)
			if err == nil {
				w.sent.Add(uint64(len(batch)))
				w.setErr(nil)
				backoff = 100 * time.Millisecond
				break
			}
			w.setErr(err)
			if ctx.Err() != nil {
				if !fromSpill {
					w.mu.Lock()
					if serr := w.spillLocked(batch); serr != nil {
						w.dropped.Add(uint64(len(batch)))
					}
					w.mu.Unlock()
				}
				return
			}
			w.log.Warn("journal: cannot publish entries; retrying", "entries", len(batch), "retry_in", backoff, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		if fromSpill {
			w.sentFromSpill(len(batch))
		}
	}
}

// next takes the next batch: from the queue, else from the spill file.
func (w *writer) next() (batch []pending, fromSpill bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := min(len(w.queue), publishBatch); n > 0 {
		batch = append([]pending(nil), w.queue[:n]...)
		w.queue = append(w.queue[:0], w.queue[n:]...)
		return batch, false, nil
	}
	if w.spilled == 0 {
		return nil, false, nil
	}
	return w.sendingLocked()
}

// sendingLocked returns the first lines of the sending file, first
// renaming the spill file to it when there is none (w.mu held). The lines
// stay in the file until sentFromSpill.
func (w *writer) sendingLocked() ([]pending, bool, error) {
	sending := filepath.Join(w.dir, sendingName)
	if _, err := os.Stat(sending); errors.Is(err, fs.ErrNotExist) {
		if w.spill != nil {
			if err := w.spill.Sync(); err != nil {
				return nil, false, err
			}
			_ = w.spill.Close()
			w.spill = nil
		}
		if err := os.Rename(filepath.Join(w.dir, spillName), sending); err != nil {
			return nil, false, fmt.Errorf("journal spill file: %w", err)
		}
	}
	f, err := os.Open(sending)
	if err != nil {
		return nil, false, fmt.Errorf("journal spill file: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(w.sendOff, io.SeekStart); err != nil {
		return nil, false, fmt.Errorf("journal spill file: %w", err)
	}
	var out []pending
	r := bufio.NewReaderSize(f, 1<<16)
	end := w.sendOff
	for len(out) < publishBatch {
		line, err := r.ReadBytes('\n')
		if err != nil {
			break // the end, or a torn last line (a crash while spilling)
		}
		end += int64(len(line))
		parts := bytes.SplitN(bytes.TrimSuffix(line, []byte{'\n'}), []byte{' '}, 3)
		if len(parts) != 3 {
			w.log.Error("journal: skipping a malformed line of the spill file")
			w.spilled--
			continue
		}
		out = append(out, pending{subject: string(parts[0]), id: string(parts[1]), data: parts[2]})
	}
	w.sendEnd = end
	if len(out) == 0 { // the whole file is published
		_ = os.Remove(sending)
		w.sendOff, w.sendEnd = 0, 0
		if w.spill == nil {
			w.spilled = 0
		}
		return nil, false, nil
	}
	return out, true, nil
}

// sentFromSpill moves past the lines of the sending file just published.
// A crash before the file is removed publishes them again at the next
// start; the stream drops them by id within its duplicate window.
func (w *writer) sentFromSpill(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sendOff = w.sendEnd
	w.spilled -= int64(n)
	sending := filepath.Join(w.dir, sendingName)
	if fi, err := os.Stat(sending); err == nil && fi.Size() <= w.sendOff {
		_ = os.Remove(sending)
		w.sendOff, w.sendEnd = 0, 0
	}
}

func (w *writer) setErr(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastErr = err
	if err != nil {
		w.errAt = time.Now()
	}
}

// close stops queueing (later entries go to the spill file) and waits
// while ctx lasts for the queue to be published; then whatever remains
// is spilled.
func (w *writer) close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
	}
	return nil
}

// closeSpill spills what is still queued (run has returned) and syncs
// the spill file.
func (w *writer) closeSpill() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	if len(w.queue) > 0 {
		if err = w.spillLocked(w.queue); err != nil {
			w.dropped.Add(uint64(len(w.queue)))
		}
		w.queue = nil
	}
	if w.spill != nil {
		err = errors.Join(err, w.spill.Sync(), w.spill.Close())
		w.spill = nil
	}
	return err
}

// writerStatus is the writer's part of Status.
func (w *writer) status() (queued int, spilled int64, lastErr string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastErr != nil {
		lastErr = w.lastErr.Error()
	}
	return len(w.queue), w.spilled, lastErr
}

func countLines(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("journal spill file: %w", err)
	}
	return int64(bytes.Count(data, []byte{'\n'})), nil
}

func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
