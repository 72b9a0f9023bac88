package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// ceiling measures what raw MQTT can do on this machine and broker, the
// number the pipeline is compared with: one paho.golang client publishing
// at the workload's QoS (1 by default) and payload size with `inFlight`
// publishes outstanding, to a subscriber on the same broker, the same way
// the pipeline's messages travel. With the bridge's properties, each
// message also carries what every message of the bridge carries (see
// bridgeProperties): the ceiling for messages of the bridge's shape.
func ceiling(ctx context.Context, w workload, messages, inFlight int, withBridgeProperties bool, cpu *childCPU) (result, error) {
	name := "ceiling"
	if withBridgeProperties {
		name = "ceiling-properties"
	}
	got, start, last, err := rawRun(ctx, w, name, inFlight, 50, withBridgeProperties, cpu, func(send func(from, to int) error, _ *collector) (int, error) {
		return messages, send(0, messages)
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
// in a process of its own (a child, its CPU time counted in cpu),
// inFlight publishes outstanding, message i on bench/<name>/<i mod tools>
// for each range of i that feed hands to send (feed returns how many; it
// is given the subscriber's collector, to wait for arrivals between its
// turns), to a subscriber here, and waits until they arrived: what both
// raw phases do. withBridgeProperties puts bridgeProperties on every
// message. start is when the client, connected, was given its first work.
func rawRun(ctx context.Context, w workload, name string, inFlight, tools int, withBridgeProperties bool, cpu *childCPU, feed func(send func(from, to int) error, c *collector) (int, error)) (got arrived, start, last time.Time, err error) {
	c := newCollector()
	sub, err := subscribe(ctx, w, "bench/"+name+"/#", c)
	if err != nil {
		return arrived{}, start, last, err
	}
	defer sub.Disconnect(context.Background())
	cfg := childConfigFor(childRaw, w, inFlight)
	cfg.Name, cfg.Tools, cfg.BridgeProperties = name, tools, withBridgeProperties
	client, err := startChild(cfg, cpu)
	if err != nil {
		return arrived{}, start, last, err
	}
	start = time.Now()
	n, fed := feed(func(from, to int) error { return client.send(fmt.Sprintf("%d %d", from, to)) }, c)
	if err := errors.Join(fed, client.finish()); err != nil {
		return arrived{}, start, last, fmt.Errorf("raw client: %w", err)
	}
	last, n, err = settle(c, n, 30*time.Second, w.qos)
	return arrived{c, n}, start, last, err
}

// runRawChild is the raw client's process: for each line "<from> <to>" of
// its input it publishes messages from to to-1 (see rawRun); at the end
// of its input it waits until the broker acknowledged them all.
func runRawChild(ctx context.Context, cfg childConfig, w workload) error {
	pub, err := connect(ctx, w, "bench-"+cfg.Name+"-pub", nil, nil)
	if err != nil {
		return err
	}
	defer pub.Disconnect(context.Background())
	fmt.Println("ready")
	jobs := make(chan publishJob, cfg.InFlight)
	published := make(chan error, 1)
	go func() {
		published <- publishJobs(ctx, pub, w, cfg.Name, cfg.Tools, cfg.BridgeProperties, cfg.InFlight, jobs)
	}()
	err = readWork(ctx, func(line string) error {
		var from, to int
		if _, err := fmt.Sscan(line, &from, &to); err != nil {
			return fmt.Errorf("work %q: %w", line, err)
		}
		job := publishJob{}
		if w.stampBursts {
			job.burstNS = time.Now().UnixNano()
		}
		for job.i = from; job.i < to; job.i++ {
			jobs <- job
		}
		return nil
	})
	close(jobs)
	return errors.Join(err, <-published)
}

// publishJob is message i to publish, of a burst handed over at burstNS
// (0: not stamped).
type publishJob struct {
	i       int
	burstNS int64
}

// publishJobs publishes message i on bench/<name>/<i mod tools> for each
// job from jobs, inFlight at once, until jobs is closed, and returns the
// first error.
func publishJobs(ctx context.Context, pub *autopaho.ConnectionManager, w workload, name string, tools int, withBridgeProperties bool, inFlight int, jobs <-chan publishJob) error {
	var wg sync.WaitGroup
	var failed error
	var once sync.Once
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				i := job.i
				tool := i % tools
				msg := &paho.Publish{Topic: fmt.Sprintf("bench/%s/%d", name, tool), QoS: w.qos, Payload: w.payload(tool, i, time.Now().UnixNano(), job.burstNS)}
				if withBridgeProperties {
					msg.Properties = bridgeProperties(fmt.Sprintf("1796186499123-%d", i)) // an id of the length Redis gives
				}
				if _, err := pub.Publish(ctx, msg); err != nil {
					once.Do(func() { failed = fmt.Errorf("raw publish: %w", err) })
				}
			}
		}()
	}
	wg.Wait()
	return failed
}

// ceilingInBench is the raw ceiling as the first nine rounds measured it:
// the client in this program's process, beside its subscriber. Sharing
// the subscriber's Go scheduler spares the client the wake-ups a process
// of its own pays, which no pipeline's publisher can share; it is printed
// beside the ceiling, for comparison with those rounds.
func ceilingInBench(ctx context.Context, w workload, messages, inFlight int) (result, error) {
	c := newCollector()
	sub, err := subscribe(ctx, w, "bench/ceiling-in-bench/#", c)
	if err != nil {
		return result{}, err
	}
	defer sub.Disconnect(context.Background())
	pub, err := connect(ctx, w, "bench-ceiling-in-bench-pub", nil, nil)
	if err != nil {
		return result{}, err
	}
	defer pub.Disconnect(context.Background())
	start := time.Now()
	jobs := make(chan publishJob, inFlight)
	published := make(chan error, 1)
	go func() { published <- publishJobs(ctx, pub, w, "ceiling-in-bench", 50, false, inFlight, jobs) }()
	for i := range messages {
		jobs <- publishJob{i: i}
	}
	close(jobs)
	if err := <-published; err != nil {
		return result{}, err
	}
	last, got, err := settle(c, messages, 30*time.Second, w.qos)
	if err != nil {
		return result{}, err
	}
	return result{messages: got, took: last.Sub(start)}, nil
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
