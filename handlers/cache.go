package handlers

import (
	"container/list"
	"sync"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// aggregates is a bounded LRU cache of loaded company streams, so that a
// command on a company seen recently needs no read of its stream. It is
// safe whatever happens elsewhere: every append states the version the
// cached state had, and a conflict reloads from the store. An entry is
// used only under its stream's lock.
type aggregates struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cachedStream, most recent first
	items map[string]*list.Element
}

type cachedStream struct {
	stream string
	l      loaded
}

func newAggregates(max int) *aggregates {
	return &aggregates{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// get returns the cached state of a stream.
func (a *aggregates) get(stream string) (loaded, bool) {
	if a.max <= 0 {
		return loaded{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	el, ok := a.items[stream]
	if !ok {
		return loaded{}, false
	}
	a.order.MoveToFront(el)
	return el.Value.(*cachedStream).l, true
}

// put caches the state of a stream, evicting the least recently used.
func (a *aggregates) put(stream string, l loaded) {
	if a.max <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.items[stream]; ok {
		el.Value.(*cachedStream).l = l
		a.order.MoveToFront(el)
		return
	}
	a.items[stream] = a.order.PushFront(&cachedStream{stream: stream, l: l})
	for a.order.Len() > a.max {
		last := a.order.Back()
		a.order.Remove(last)
		delete(a.items, last.Value.(*cachedStream).stream)
	}
}

// forget drops a stream whose state is no longer known for sure.
func (a *aggregates) forget(stream string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if el, ok := a.items[stream]; ok {
		a.order.Remove(el)
		delete(a.items, stream)
	}
}

// extend applies newly appended events to l's aggregate (in place: a
// cached state is only used under its stream's lock) and adds them, without
// their data, which the cache does not need.
func (l *loaded) extend(envs []eventstore.Envelope, events []domain.Event) error {
	for _, e := range events {
		if err := l.company.Apply(e); err != nil {
			return err
		}
	}
	for _, env := range envs {
		env.Data = nil
		l.envelopes = append(l.envelopes, env)
		l.version = env.Version
	}
	l.events = append(l.events, events...)
	return nil
}
