package relay

import (
	"math/rand/v2"
	"time"
)

// Backoff doubles the wait after each failure up to max, with jitter so
// that many clients restarting together do not retry in lockstep. Links use
// it to reconnect, and the services to retry Redis through an outage.
type Backoff struct {
	min, max, cur time.Duration
}

// NewBackoff starts at min and never waits longer than max.
func NewBackoff(min, max time.Duration) *Backoff { return &Backoff{min: min, max: max} }

// Next is how long to wait after one more failure.
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur/2 + rand.N(b.cur/2+1)
}

// Reset starts again from min, after a success.
func (b *Backoff) Reset() { b.cur = 0 }
