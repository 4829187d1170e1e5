package handlers

import "sync"

// locks serialises the commands of one company within this process, so
// that contention resolves by waiting rather than by conflict retries;
// optimistic concurrency still guards against other processes. Companies
// never wait for one another.
type locks struct {
	mu      sync.Mutex
	streams map[string]*streamLock
}

type streamLock struct {
	sync.Mutex
	refs int
}

// lock locks a stream and returns its unlock function.
func (l *locks) lock(stream string) (unlock func()) {
	l.mu.Lock()
	if l.streams == nil {
		l.streams = map[string]*streamLock{}
	}
	sl := l.streams[stream]
	if sl == nil {
		sl = &streamLock{}
		l.streams[stream] = sl
	}
	sl.refs++
	l.mu.Unlock()
	sl.Lock()
	return func() {
		sl.Unlock()
		l.mu.Lock()
		if sl.refs--; sl.refs == 0 {
			delete(l.streams, stream)
		}
		l.mu.Unlock()
	}
}
