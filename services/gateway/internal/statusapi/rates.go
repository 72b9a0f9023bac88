package statusapi

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// Rates turns the running totals in Redis into events per second over the
// last minute. Totals in Redis, rather than each process's metrics, count
// every replica and survive restarts.
type Rates struct {
	rdb     redis.UniversalClient
	every   time.Duration
	mu      sync.Mutex
	samples []sample
}

type sample struct {
	at      time.Time
	in, out float64
}

const rateWindow = time.Minute

// NewRates samples the totals every interval once Run runs.
func NewRates(rdb redis.UniversalClient, every time.Duration) *Rates {
	return &Rates{rdb: rdb, every: every}
}

// Run samples until ctx ends.
func (r *Rates) Run(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		r.take(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Rates) take(ctx context.Context) {
	vals, err := r.rdb.HMGet(ctx, records.Counters, records.CounterEventsIn, records.CounterMessagesOut).Result()
	if err != nil {
		return // the health answer reports Redis itself
	}
	num := func(v any) float64 { s, _ := v.(string); f, _ := strconv.ParseFloat(s, 64); return f }
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, sample{at: now, in: num(vals[0]), out: num(vals[1])})
	for len(r.samples) > 2 && now.Sub(r.samples[1].at) >= rateWindow {
		r.samples = r.samples[1:]
	}
}

// PerSecond is the mean rate in and out over the samples kept.
func (r *Rates) PerSecond() (in, out float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) < 2 {
		return 0, 0
	}
	first, last := r.samples[0], r.samples[len(r.samples)-1]
	secs := last.at.Sub(first.at).Seconds()
	// A total that went down was reset (Redis flushed): no rate yet.
	return max(0, (last.in-first.in)/secs), max(0, (last.out-first.out)/secs)
}
