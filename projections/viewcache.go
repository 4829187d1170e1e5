package projections

import (
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// attestationCache keeps the stored JSON of recently looked-up
// attestations in memory, in front of SQLite: a bank checking a status is
// the hottest query. Each generation has its own, so a rebuild's swap
// starts afresh.
//
// It never answers older than the read models: the applier invalidates
// the attestations a batch changed after the batch commits and before its
// checkpoint is published (so a query waiting for minPosition sees the new
// row), and a query fills the cache only if no commit touched attestations
// between its start and the fill: otherwise what it read may already be
// stale.
type attestationCache struct {
	lru *lru.Cache[string, cachedAttestation] // nil: no cache
	// mu orders fills against invalidations; epoch counts invalidations.
	mu    sync.Mutex
	epoch uint64
}

type cachedAttestation struct {
	siren, bankCode string
	view            []byte
}

// newAttestationCache returns a cache of size entries (none if size < 1).
func newAttestationCache(size int) *attestationCache {
	c := &attestationCache{}
	if size > 0 {
		c.lru, _ = lru.New[string, cachedAttestation](size) // only fails for size < 1
	}
	return c
}

// get returns the cached attestation, if any.
func (c *attestationCache) get(number string) (cachedAttestation, bool) {
	if c.lru == nil {
		return cachedAttestation{}, false
	}
	return c.lru.Get(number)
}

// start returns the epoch a query starts from, to pass to fill.
func (c *attestationCache) start() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// fill caches what a query that started at epoch read, unless attestations
// changed since.
func (c *attestationCache) fill(epoch uint64, number string, a cachedAttestation) {
	if c.lru == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch == epoch {
		c.lru.Add(number, a)
	}
}

// invalidate drops the given attestations once a batch that changed them
// has committed.
func (c *attestationCache) invalidate(numbers []string) {
	if len(numbers) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if c.lru == nil {
		return
	}
	for _, n := range numbers {
		c.lru.Remove(n)
	}
}
