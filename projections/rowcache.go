package projections

// rows is a projector's memory of its rows: those it changed in the
// current batch (staged, in the order they were first changed, so that
// rows are inserted in log order whatever the batch boundaries) over those
// it has committed (a write-through cache, which spares most reads: the
// projector is the only writer of its table).
//
// When the projector started on an empty table and has never dropped its
// cache, the cache is complete: a key it does not hold is in no row, and
// the database need not be asked. The cache is dropped whole when it
// outgrows its limit.
type rows[R any] struct {
	staged    map[string]*R
	order     []string
	committed map[string]*R
	complete  bool
	limit     int
	// drops counts how many times the cache was dropped.
	drops int
}

func newRows[R any](complete bool, limit int) rows[R] {
	return rows[R]{staged: map[string]*R{}, committed: map[string]*R{}, complete: complete, limit: limit}
}

// get returns the row of key as the batch left it, or as committed. known
// is false when the row must be read from the database.
func (s *rows[R]) get(key string) (r *R, known bool) {
	if r, ok := s.staged[key]; ok {
		return r, true
	}
	if r, ok := s.committed[key]; ok {
		return r, true
	}
	return nil, s.complete
}

// remember caches a row read from the database.
func (s *rows[R]) remember(key string, r *R) { s.committed[key] = r }

// put stages the new version of a row. Rows are never changed in place:
// a new version is a new value, so that the committed one stays intact if
// the batch rolls back.
func (s *rows[R]) put(key string, r *R) {
	if _, ok := s.staged[key]; !ok {
		s.order = append(s.order, key)
	}
	s.staged[key] = r
}

// each calls f on every staged row, in the order they were first staged,
// and stops at the first error.
func (s *rows[R]) each(f func(key string, r *R) error) error {
	for _, k := range s.order {
		if err := f(k, s.staged[k]); err != nil {
			return err
		}
	}
	return nil
}

// commit moves the staged rows to the cache, marking each as stored.
func (s *rows[R]) commit(stored func(*R)) {
	if len(s.committed)+len(s.staged) > s.limit {
		clear(s.committed)
		s.complete = false
		s.drops++
	}
	for _, k := range s.order {
		r := s.staged[k]
		stored(r)
		s.committed[k] = r
	}
	s.reset()
}

// reset drops the staged rows (after a rollback, or once committed).
func (s *rows[R]) reset() {
	clear(s.staged)
	s.order = s.order[:0]
}
