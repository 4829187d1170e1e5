package projections

import "errors"

// ErrNotFound is returned by a query for a row that does not exist (yet):
// the caller may wait for a log position and ask again.
var ErrNotFound = errors.New("projections: not found")
