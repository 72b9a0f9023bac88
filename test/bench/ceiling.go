package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// ceiling measures what raw MQTT can do on this machine and broker, the
// number the pipeline is compared with: one paho.golang client publishing
// QoS 1 with `inFlight` publishes outstanding, to a subscriber on the same
// broker, the same way the pipeline's messages travel.
func ceiling(ctx context.Context, broker *url.URL, messages, inFlight int) (result, error) {
	c := newCollector()
	sub, err := subscribe(ctx, broker, "bench/ceiling/#", c)
	if err != nil {
		return result{}, err
	}
	defer sub.Disconnect(context.Background())
	pub, err := connect(ctx, broker, "bench-ceiling-pub", nil)
	if err != nil {
		return result{}, err
	}
	defer pub.Disconnect(context.Background())

	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var failed error
	var once sync.Once
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				payload, _ := json.Marshal(probe{ToolID: i % 50, Seq: i, SentNS: time.Now().UnixNano()})
				if _, err := pub.Publish(ctx, &paho.Publish{Topic: fmt.Sprintf("bench/ceiling/%d", i%50), QoS: 1, Payload: payload}); err != nil {
					once.Do(func() { failed = err })
				}
			}
		}()
	}
	for i := range messages {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if failed != nil {
		return result{}, fmt.Errorf("raw publish: %w", failed)
	}
	last, err := c.wait(messages, 30*time.Second)
	if err != nil {
		return result{}, err
	}
	return measured(c, messages, last.Sub(start)), nil
}
