package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
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
func writeSteady(ctx context.Context, rdb *redis.Client, first, rate int, d time.Duration, tools int) (int, error) {
	return paced(rate, d, func(from, to int) error {
		return writeEvents(ctx, rdb, first+from, first+to, spread(tools))
	})
}

// rawSteady publishes rate QoS 1 messages per second for d straight to the
// broker (inFlight publishes may be outstanding) and measures latency from
// the publish call to the subscriber's receipt: the raw figure beside the
// pipeline's steady latency.
func rawSteady(ctx context.Context, broker *url.URL, rate int, d time.Duration, inFlight, tools int) (result, error) {
	c := newCollector()
	sub, err := subscribe(ctx, broker, "bench/steady/#", c)
	if err != nil {
		return result{}, err
	}
	defer sub.Disconnect(context.Background())
	pub, err := connect(ctx, broker, "bench-steady-pub", nil)
	if err != nil {
		return result{}, err
	}
	defer pub.Disconnect(context.Background())

	jobs := make(chan int, inFlight)
	var wg sync.WaitGroup
	var failed error
	var once sync.Once
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				payload, _ := json.Marshal(probe{ToolID: i % tools, Seq: i, SentNS: time.Now().UnixNano()})
				if _, err := pub.Publish(ctx, &paho.Publish{Topic: fmt.Sprintf("bench/steady/%d", i%tools), QoS: 1, Payload: payload}); err != nil {
					once.Do(func() { failed = err })
				}
			}
		}()
	}
	n, _ := paced(rate, d, func(from, to int) error {
		for i := from; i < to; i++ {
			jobs <- i
		}
		return nil
	})
	close(jobs)
	wg.Wait()
	if failed != nil {
		return result{}, fmt.Errorf("raw publish: %w", failed)
	}
	if _, err := c.wait(n, 30*time.Second); err != nil {
		return result{}, err
	}
	return measured(c, n, d), nil
}
