package main

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// paced calls send every 10 ms with what is due to keep rate items per
// second for d, catching up after a late tick, and returns how many it
// sent: the pace of both steady phases.
func paced(rate int, d time.Duration, send func(from, to int) error) (int, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	total := int(d.Seconds() * float64(rate))
	next := 0
	for start := time.Now(); next < total; {
		<-tick.C
		due := min(total, int(time.Since(start).Seconds()*float64(rate)))
		if due <= next {
			continue
		}
		if err := send(next, due); err != nil {
			return 0, err
		}
		next = due
	}
	return next, nil
}

// writeSteady writes rate events per second for d into the stream, in
// small batches, numbered from first over tools; it returns how many.
func writeSteady(ctx context.Context, rdb *redis.Client, w workload, first, rate int, d time.Duration, tools int) (int, error) {
	return paced(rate, d, func(from, to int) error {
		return writeEvents(ctx, rdb, w, first+from, first+to, spread(tools))
	})
}

// rawSteady publishes rate messages per second at the workload's QoS for d straight to the
// broker (inFlight publishes may be outstanding) and measures latency from
// the publish call to the subscriber's receipt: the raw figure beside the
// pipeline's steady latency.
func rawSteady(ctx context.Context, w workload, rate int, d time.Duration, inFlight, tools int) (result, error) {
	got, _, _, err := rawRun(ctx, w, "steady", inFlight, tools, false, func(jobs chan<- int) int {
		n, _ := paced(rate, d, func(from, to int) error {
			for i := from; i < to; i++ {
				jobs <- i
			}
			return nil
		})
		return n
	})
	if err != nil {
		return result{}, err
	}
	return got.measured(d), nil
}
