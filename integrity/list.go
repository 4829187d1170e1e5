package integrity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// readPage is how many notes the Log reads from its store at once.
const readPage = 1000

// cpList is the Log's copy of the published checkpoints, in order: the
// note of sequence s is notes[s-1]. Each note is about 250 bytes.
type cpList struct {
	notes []SignedCheckpoint
	// checked counts the first notes known to agree with the tree: those
	// this instance published, and those another did whose roots the tree
	// has been found to reproduce once it reached their size.
	checked int
}

func (c *cpList) latest() (SignedCheckpoint, bool) {
	if len(c.notes) == 0 {
		return SignedCheckpoint{}, false
	}
	return c.notes[len(c.notes)-1], true
}

// loadList reads the whole list from the store. The notes of a shared
// store are each verified (signature and order); those of the local file
// are trusted as the tree is, and only the latest's signature is checked.
func (l *Log) loadList(ctx context.Context) error {
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	if err := l.refreshLocked(ctx, l.file == nil, false); err != nil {
		return err
	}
	latest, ok := l.Latest()
	if !ok || l.file == nil {
		return nil
	}
	if _, err := openCheckpoint(latest.Note, l.key.verifier); err != nil {
		return fmt.Errorf("latest checkpoint: %w", err)
	}
	return nil
}

// refreshLocked adds to the list what the store holds beyond it (pubMu
// held): with verify, each note's signature is checked; with checkTree,
// each note the tree covers must have the tree's root, or it is an
// integrity alarm and neither it nor any later note is taken.
func (l *Log) refreshLocked(ctx context.Context, verify, checkTree bool) error {
	for {
		l.mu.RLock()
		next := uint64(len(l.list.notes)) + 1
		l.mu.RUnlock()
		page, err := l.store.Read(ctx, next, readPage)
		if err != nil {
			return fmt.Errorf("read checkpoints from #%d: %w", next, err)
		}
		if len(page) == 0 {
			return nil
		}
		for _, n := range page {
			if err := l.ingest(n, verify, checkTree); err != nil {
				return err
			}
		}
	}
}

// ingest checks one note read from the store and adds it to the list.
func (l *Log) ingest(n StoredNote, verify, checkTree bool) error {
	var c SignedCheckpoint
	var err error
	if verify {
		c, err = openCheckpoint(n.Note, l.key.verifier)
	} else {
		c.Note = n.Note
		c.Checkpoint, err = parseNote(n.Note)
	}
	if err != nil {
		return fmt.Errorf("checkpoint #%d: %w", n.Seq, err)
	}
	l.mu.RLock()
	prev, havePrev := l.list.latest()
	want := uint64(len(l.list.notes)) + 1
	l.mu.RUnlock()
	switch {
	case n.Seq != want:
		return fmt.Errorf("checkpoint #%d: %w: the store gave it where #%d was due", n.Seq, ErrBadCheckpoint, want)
	case c.Origin != l.cfg.Origin:
		return fmt.Errorf("checkpoint #%d: %w: origin %q, want %q", n.Seq, ErrBadCheckpoint, c.Origin, l.cfg.Origin)
	case havePrev && c.Size <= prev.Size:
		return fmt.Errorf("checkpoint #%d: %w: size %d after size %d", n.Seq, ErrBadCheckpoint, c.Size, prev.Size)
	}
	if checkTree {
		if err := l.checkAgainst(c.Checkpoint); err != nil {
			return l.raise(int(n.Seq)-1, c.Checkpoint, err)
		}
	}
	l.add(c, false)
	return nil
}

// add appends c to the list and wakes WaitCheckpoint; ours says that it
// signs this instance's tree (so it and every earlier one are checked).
func (l *Log) add(c SignedCheckpoint, ours bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list.notes = append(l.list.notes, c)
	if ours {
		l.list.checked = len(l.list.notes)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// checkCovered checks against the tree every checkpoint published by
// another instance that the tree has reached since. A contradicted one is
// an integrity alarm: it and every later one are withdrawn from the list.
// With the local file every checkpoint is this instance's own, checked
// against the tree when published.
func (l *Log) checkCovered() error {
	if l.file != nil {
		return nil
	}
	l.checkMu.Lock()
	defer l.checkMu.Unlock()
	l.mu.RLock()
	start, pending, alarm := l.list.checked, l.list.notes[l.list.checked:], l.alarm
	l.mu.RUnlock()
	if alarm != nil {
		return alarm
	}
	size, _ := l.Size()
	done := 0
	for _, c := range pending {
		if c.Size > size {
			break
		}
		if err := l.checkAgainst(c.Checkpoint); err != nil {
			return l.raise(start+done, c.Checkpoint, err)
		}
		done++
	}
	l.mu.Lock()
	l.list.checked = max(l.list.checked, start+done)
	l.mu.Unlock()
	return nil
}

// raise records the integrity alarm of the checkpoint at index i
// (contradicted by the tree, err) and withdraws it and what follows.
func (l *Log) raise(i int, c Checkpoint, err error) error {
	if !errors.Is(err, ErrInconsistent) {
		return err
	}
	err = fmt.Errorf("checkpoint #%d of size %d: %w", i+1, c.Size, err)
	l.log.Error("integrity: INTEGRITY ALARM: a published checkpoint contradicts this instance's tree; it is not served",
		"seq", i+1, "size", c.Size, "root", c.Root.String(), "err", err)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.alarm == nil {
		l.alarm = err
	}
	if i < len(l.list.notes) {
		l.list.notes = slices.Clone(l.list.notes[:i]) // readers may hold the old slice
	}
	l.list.checked = min(l.list.checked, i)
	return l.alarm
}

// Latest returns the latest published checkpoint, and false if none was.
func (l *Log) Latest() (SignedCheckpoint, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.list.latest()
}

// CheckpointAt returns the published checkpoint of the given size, or
// ErrNoCheckpoint.
func (l *Log) CheckpointAt(ctx context.Context, size int64) (SignedCheckpoint, error) {
	if err := ctx.Err(); err != nil {
		return SignedCheckpoint{}, fmt.Errorf("checkpoint %d: %w", size, err)
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	notes := l.list.notes
	i := sort.Search(len(notes), func(i int) bool { return notes[i].Size >= size })
	if i == len(notes) || notes[i].Size != size {
		return SignedCheckpoint{}, fmt.Errorf("checkpoint %d: %w", size, ErrNoCheckpoint)
	}
	return notes[i], nil
}

// CheckpointSizes returns the sizes of all published checkpoints, in order.
func (l *Log) CheckpointSizes() []int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]int64, len(l.list.notes))
	for i, c := range l.list.notes {
		out[i] = c.Size
	}
	return out
}

// checkpoints returns the published checkpoints, in order.
func (l *Log) checkpoints() []SignedCheckpoint {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.list.notes[:len(l.list.notes):len(l.list.notes)]
}

// WaitCheckpoint waits until a checkpoint of at least the given size is
// published (by this instance or, with a shared store, by another), and
// returns the latest.
func (l *Log) WaitCheckpoint(ctx context.Context, size int64) (SignedCheckpoint, error) {
	for {
		l.mu.RLock()
		latest, ok := l.list.latest()
		changed := l.changed
		l.mu.RUnlock()
		if ok && latest.Size >= size {
			return latest, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return SignedCheckpoint{}, fmt.Errorf("wait for checkpoint %d: %w", size, ctx.Err())
		}
	}
}
