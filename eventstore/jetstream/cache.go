package jetstream

import "sync"

// streamState is where a stream stands: the version of its last event and
// that event's stream sequence (0, 0 for a stream with no event). The two
// always come together from one stored message or one acknowledged append.
type streamState struct {
	version uint64
	lastSeq uint64
}

// stateCache remembers the state of recently used streams, so the group
// commit can compute versions and expected subject sequences, and refuse
// stale expectations, without asking the server. It may lag behind the
// server (another process appended) but never runs ahead of it: the server
// checks every expected subject sequence, so a stale entry costs a retry,
// never a wrong version.
type stateCache struct {
	mu     sync.Mutex
	max    int
	states map[string]streamState
}

func newStateCache(max int) *stateCache {
	return &stateCache{max: max, states: make(map[string]streamState)}
}

func (c *stateCache) get(stream string) (streamState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.states[stream]
	return st, ok
}

// put records st unless the cache already knows a later state: states only
// move forward, whoever learns them first.
func (c *stateCache) put(stream string, st streamState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.states[stream]; ok && old.lastSeq > st.lastSeq {
		return
	}
	if _, ok := c.states[stream]; !ok && len(c.states) >= c.max {
		// Forget about a tenth of the entries, in map order (random).
		n := max(1, c.max/10)
		for k := range c.states {
			delete(c.states, k)
			if n--; n == 0 {
				break
			}
		}
	}
	c.states[stream] = st
}

// forget drops what the cache knows of a stream, after an append whose
// outcome is unknown or a refusal showing the entry was stale.
func (c *stateCache) forget(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.states, stream)
}
