package router

import (
	"sync"
	"time"
)

// budget lets through at most rate items a second, and up to rate at
// once after a quiet second (a token bucket). Past that it lets one
// through every 1/rate seconds, so what passes is spread evenly over the
// burst, its newest items included.
type budget struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
}

func newBudget(rate float64, now time.Time) *budget {
	return &budget{rate: rate, tokens: rate, last: now}
}

// take says whether an item at now passes, and counts it if so.
func (b *budget) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(b.rate, b.tokens+elapsed*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
