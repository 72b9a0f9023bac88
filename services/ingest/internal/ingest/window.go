package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
)

// window holds the entries read and not yet acknowledged. Its size, in
// entries and in bytes, bounds ingest's memory (and, through it, what the
// router and publisher hold): when it is full, reading from Redis stops, so
// a broker outage leaves the backlog in Redis rather than in this process.
type window struct {
	mu       sync.Mutex
	size     int
	maxBytes int // 0: no bound in bytes
	bytes    int // the sizes of the entries in flight
	inFlight map[string]held
	freed    chan struct{} // closed and replaced whenever room is made
}

// held is an entry in flight, with the read it came in.
type held struct {
	entry source.Entry
	read  *readStamp
}

// readStamp is shared by the entries of one read: when they were handed
// to the router (see handed), for the latency metrics. Guarded by the
// window's mutex.
type readStamp struct {
	handed time.Time
}

func newWindow(size, maxBytes int) *window {
	return &window{size: size, maxBytes: maxBytes, inFlight: map[string]held{}, freed: make(chan struct{})}
}

// waitRoom blocks until at least atLeast entries fit (all of them, in a
// window smaller than that) and returns how many do. Entries are read
// before their size is known, so a read may take the bytes past maxBytes
// by one read's worth; reading then waits until they are under it again.
func (w *window) waitRoom(ctx context.Context, atLeast int) (int, error) {
	atLeast = max(1, min(atLeast, w.size))
	for {
		w.mu.Lock()
		room, freed := w.size-len(w.inFlight), w.freed
		if w.maxBytes > 0 && w.bytes >= w.maxBytes {
			room = 0
		}
		w.mu.Unlock()
		if room >= atLeast {
			return room, nil
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (w *window) add(e source.Entry) { w.addRead(e, nil) }

// addRead adds e, read in the read stamped r.
func (w *window) addRead(e source.Entry, r *readStamp) {
	w.mu.Lock()
	if old, ok := w.inFlight[e.ID]; ok {
		w.bytes -= old.entry.Size()
	}
	w.inFlight[e.ID] = held{entry: e, read: r}
	w.bytes += e.Size()
	w.mu.Unlock()
}

// handed records when the entries of read r went to the router.
func (w *window) handed(r *readStamp, at time.Time) {
	w.mu.Lock()
	r.handed = at
	w.mu.Unlock()
}

func (w *window) get(id string) (source.Entry, bool) {
	e, _, ok := w.lookup(id)
	return e, ok
}

// lookup returns the entry with id and when it went to the router (zero
// if it did not).
func (w *window) lookup(id string) (source.Entry, time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.inFlight[id]
	if !ok || h.read == nil {
		return h.entry, time.Time{}, ok
	}
	return h.entry, h.read.handed, ok
}

func (w *window) has(id string) bool {
	_, ok := w.get(id)
	return ok
}

func (w *window) release(entries []source.Entry) {
	w.mu.Lock()
	for _, e := range entries {
		if h, ok := w.inFlight[e.ID]; ok {
			w.bytes -= h.entry.Size()
			delete(w.inFlight, e.ID)
		}
	}
	close(w.freed)
	w.freed = make(chan struct{})
	w.mu.Unlock()
}

// clear forgets every entry in flight, for a holder that lost its lease:
// they stay in Redis for the next one.
func (w *window) clear() {
	w.mu.Lock()
	w.inFlight, w.bytes = map[string]held{}, 0
	close(w.freed)
	w.freed = make(chan struct{})
	w.mu.Unlock()
}

func (w *window) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.inFlight)
}

// waitEmpty blocks until nothing is in flight or ctx ends.
func (w *window) waitEmpty(ctx context.Context) error {
	for {
		w.mu.Lock()
		n, freed := len(w.inFlight), w.freed
		w.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
