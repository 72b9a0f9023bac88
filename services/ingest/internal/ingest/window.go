package ingest

import (
	"context"
	"sync"

	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
)

// window holds the entries read and not yet acknowledged. Its size bounds
// ingest's memory: when it is full, reading from Redis stops, so a broker
// outage leaves the backlog in Redis rather than in this process.
type window struct {
	mu       sync.Mutex
	size     int
	inFlight map[string]source.Entry
	freed    chan struct{} // closed and replaced whenever room is made
}

func newWindow(size int) *window {
	return &window{size: size, inFlight: map[string]source.Entry{}, freed: make(chan struct{})}
}

// waitRoom blocks until at least one entry fits and returns how many do.
func (w *window) waitRoom(ctx context.Context) (int, error) {
	for {
		w.mu.Lock()
		room, freed := w.size-len(w.inFlight), w.freed
		w.mu.Unlock()
		if room > 0 {
			return room, nil
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (w *window) add(e source.Entry) {
	w.mu.Lock()
	w.inFlight[e.ID] = e
	w.mu.Unlock()
}

func (w *window) get(id string) (source.Entry, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.inFlight[id]
	return e, ok
}

func (w *window) has(id string) bool {
	_, ok := w.get(id)
	return ok
}

func (w *window) release(entries []source.Entry) {
	w.mu.Lock()
	for _, e := range entries {
		delete(w.inFlight, e.ID)
	}
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
