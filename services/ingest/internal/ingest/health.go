package ingest

import "sync"

// healthState is ready when Redis answers and the router stream is open.
type healthState struct {
	mu            sync.Mutex
	redis, router bool
	report        func(bool)
}

func (h *healthState) setRedis(ok bool)  { h.update(func() { h.redis = ok }) }
func (h *healthState) setRouter(ok bool) { h.update(func() { h.router = ok }) }

func (h *healthState) update(change func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	change()
	h.report(h.redis && h.router)
}
