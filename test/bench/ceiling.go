package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// ceiling measures what raw MQTT can do on this machine and broker, the
// number the pipeline is compared with: one paho.golang client publishing
// at the workload's QoS (1 by default) and payload size with `inFlight`
// publishes outstanding, to a subscriber on the same broker, the same way
// the pipeline's messages travel. With the bridge's properties, each
// message also carries what every message of the bridge carries (see
// bridgeProperties): the ceiling for messages of the bridge's shape.
func ceiling(ctx context.Context, w workload, messages, inFlight int, withBridgeProperties bool) (result, error) {
	name := "ceiling"
	if withBridgeProperties {
		name = "ceiling-properties"
	}
	got, start, last, err := rawRun(ctx, w, name, inFlight, 50, withBridgeProperties, func(jobs chan<- int, _ *collector) int {
		for i := range messages {
			jobs <- i
		}
		return messages
	})
	if err != nil {
		return result{}, err
	}
	return got.measured(last.Sub(start)), nil
}

// bridgeProperties are the MQTT properties the bridge puts on every
// message of the pipeline phases: the payload's content type, and the
// source event's stream id as the event_id user property.
func bridgeProperties(eventID string) *paho.PublishProperties {
	return &paho.PublishProperties{
		ContentType: "application/json",
		User:        paho.UserProperties{{Key: "event_id", Value: eventID}},
	}
}

// rawRun publishes with one paho.golang client straight to the broker,
// inFlight publishes outstanding, message i on bench/<name>/<i mod tools>
// for each i that feed hands out (feed returns how many; it is given the
// subscriber's collector, to wait for arrivals between its turns), to a
// subscriber of its own, and waits until they arrived: what both raw
// phases do.
// withBridgeProperties puts bridgeProperties on every message.
func rawRun(ctx context.Context, w workload, name string, inFlight, tools int, withBridgeProperties bool, feed func(jobs chan<- int, c *collector) int) (arrived, time.Time, time.Time, error) {
	c := newCollector()
	sub, err := subscribe(ctx, w, "bench/"+name+"/#", c)
	if err != nil {
		return arrived{}, time.Time{}, time.Time{}, err
	}
	defer sub.Disconnect(context.Background())
	pub, err := connect(ctx, w, "bench-"+name+"-pub", nil, nil)
	if err != nil {
		return arrived{}, time.Time{}, time.Time{}, err
	}
	defer pub.Disconnect(context.Background())

	start := time.Now()
	jobs := make(chan int, inFlight)
	var wg sync.WaitGroup
	var failed error
	var once sync.Once
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				payload := w.payload(i%tools, i, time.Now().UnixNano())
				msg := &paho.Publish{Topic: fmt.Sprintf("bench/%s/%d", name, i%tools), QoS: w.qos, Payload: payload}
				if withBridgeProperties {
					msg.Properties = bridgeProperties(fmt.Sprintf("1796186499123-%d", i)) // an id of the length Redis gives
				}
				if _, err := pub.Publish(ctx, msg); err != nil {
					once.Do(func() { failed = err })
				}
			}
		}()
	}
	n := feed(jobs, c)
	close(jobs)
	wg.Wait()
	if failed != nil {
		return arrived{}, time.Time{}, time.Time{}, fmt.Errorf("raw publish: %w", failed)
	}
	last, got, err := settle(c, n, 30*time.Second, w.qos)
	return arrived{c, got}, start, last, err
}

// arrived is what a subscriber got: its collector and how many distinct
// messages.
type arrived struct {
	c   *collector
	got int
}

func (a arrived) measured(took time.Duration) result { return measured(a.c, a.got, took) }

// settle waits until n distinct messages arrived (or nothing new came for
// stall) and returns the last arrival and how many arrived. At QoS 0 the
// broker may drop messages, so there it settles for what arrived once
// nothing more comes for a few seconds, and says how many were lost.
func settle(c *collector, n int, stall time.Duration, qos byte) (time.Time, int, error) {
	if qos == 0 {
		stall = min(stall, 5*time.Second)
	}
	last, err := c.wait(n, stall)
	if err != nil && qos == 0 && c.count() > 0 {
		got := c.count()
		fmt.Printf("  (QoS 0: %d of %d messages arrived, %d lost)\n", got, n, n-got)
		return last, got, nil
	}
	return last, n, err
}
