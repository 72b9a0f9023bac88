// Package backoff spaces the attempts of a retry loop: each failure doubles
// the wait, up to a cap, with jitter so that many clients failing together
// (every service when Redis goes away) do not retry in lockstep. Every
// retry loop of the services uses it, so that they all honour ctx the same
// way and none of them hammers what it waits for.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the wait of one retry loop. It is not safe for concurrent use:
// each loop has its own.
type Backoff struct {
	min, max, cur time.Duration
}

// New starts at min and never waits longer than max. It panics unless
// 0 < min <= max: either mistake would make a loop spin or never retry.
func New(min, max time.Duration) *Backoff {
	if min <= 0 || max < min {
		panic("backoff: need 0 < min <= max")
	}
	return &Backoff{min: min, max: max}
}

// Next is how long to wait after one more failure: a random time between
// half the current step and the step itself, the step doubling from min up
// to max. Half the step stays fixed so that the wait still grows.
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

// Sleep waits d, or less if ctx ends first, and then says ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Retry calls f until it succeeds (nil) or ctx ends (ctx.Err()), waiting
// b.Next() after each failure. onFail, if not nil, hears each failure and
// the wait before the next attempt, to log it; a failure caused by ctx
// ending is not passed on, as it is the shutdown and not an outage. b is
// reset on success, so that a loop may keep one Backoff for all its calls.
func Retry(ctx context.Context, b *Backoff, f func() error, onFail func(err error, wait time.Duration)) error {
	for {
		err := f()
		if err == nil {
			b.Reset()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := b.Next()
		if onFail != nil {
			onFail(err, wait)
		}
		if err := Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
