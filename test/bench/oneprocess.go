package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/redis/go-redis/v9"
)

// oneProcessStream is the stream the one-process pipeline drains, apart from
// NEMO's so that the bridge's phases never see its entries; its latency
// turns in phase 4 use a stream of their own.
const (
	oneProcessStream       = "bench:one-process"
	oneProcessSteadyStream = "bench:one-process-steady"
)

// oneProcessGroup is its consumer group.
const oneProcessGroup = "one-process"

// oneProcess is the least a pipeline from Redis Streams to MQTT does for
// an event, in one process, as a general-purpose pipeline would: read the
// stream in batches of 256 with XREADGROUP, take the topic and payload
// out of NEMO's envelope, publish each message with the bridge's
// properties (so the broker and the subscriber get messages of the
// bridge's shape), inFlight outstanding through one paho.golang client as
// the raw ceiling does, and XACK what the broker acknowledged. No tool
// state, no rules, no hops between processes: what the bridge pays beyond
// this is what its design costs. It runs from startOneProcess until stop.
type oneProcess struct {
	c       *collector // its subscriber's
	started time.Time  // when it began to read
	acked   atomic.Int64
	cancel  context.CancelCauseFunc
	ctx     context.Context
	done    chan struct{} // closed once every goroutine returned
	close   func()
}

// startOneProcess starts the one-process pipeline on stream, from the
// stream's first entry, publishing each message under topicPrefix (so
// that, beside the bridge, each has subscribers of its own).
func startOneProcess(ctx context.Context, w workload, rdb *redis.Client, stream, topicPrefix string, inFlight int) (*oneProcess, error) {
	if err := rdb.XGroupCreateMkStream(ctx, stream, oneProcessGroup, "0").Err(); err != nil {
		return nil, fmt.Errorf("create the consumer group: %w", err)
	}
	p := &oneProcess{c: newCollector(), done: make(chan struct{})}
	sub, err := subscribe(ctx, w, topicPrefix+"nemo/tools/+/enabled", p.c)
	if err != nil {
		return nil, err
	}
	pub, err := connect(ctx, w, "bench-one-process-pub", nil, nil)
	if err != nil {
		sub.Disconnect(context.Background())
		return nil, err
	}
	p.close = func() {
		pub.Disconnect(context.Background())
		sub.Disconnect(context.Background())
	}
	p.ctx, p.cancel = context.WithCancelCause(ctx)
	jobs := make(chan redis.XMessage, inFlight)
	published := make(chan string, inFlight)
	var wg sync.WaitGroup
	p.started = time.Now()
	go readEntries(p.ctx, p.cancel, rdb, stream, jobs)
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				if err := publishEntry(p.ctx, pub.Publish, w.qos, topicPrefix, m); err != nil {
					p.cancel(err)
					return
				}
				select {
				case published <- m.ID:
				case <-p.ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(published) }()
	go func() { defer close(p.done); ackPublished(p.ctx, p.cancel, rdb, stream, published, &p.acked) }()
	return p, nil
}

// settle waits until n distinct messages arrived and the pipeline
// acknowledged n entries, and returns the last arrival.
func (p *oneProcess) settle(n int, qos byte) (time.Time, int, error) {
	last, got, err := settle(p.c, n, 30*time.Second, qos)
	if err != nil {
		return last, got, err
	}
	for wait := time.Now(); p.acked.Load() < int64(n); time.Sleep(time.Millisecond) {
		if err := p.failed(); err != nil {
			return last, got, err
		}
		if time.Since(wait) > 10*time.Second {
			return last, got, fmt.Errorf("one-process pipeline acknowledged %d of %d entries", p.acked.Load(), n)
		}
	}
	return last, got, p.failed()
}

// failed is why the pipeline stopped by itself, if it did.
func (p *oneProcess) failed() error {
	if cause := context.Cause(p.ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("one-process pipeline: %w", cause)
	}
	return nil
}

// stop ends the pipeline and its clients.
func (p *oneProcess) stop() {
	p.cancel(nil)
	<-p.done
	p.close()
}

// oneProcessDrain drains a backlog of n events over tools with the
// one-process pipeline: phase 1's figure beside the bridge's drain.
func oneProcessDrain(ctx context.Context, w workload, rdb *redis.Client, n, inFlight, tools int) (result, error) {
	if err := writeEventsTo(ctx, rdb, oneProcessStream, w, 0, n, spread(tools)); err != nil {
		return result{}, err
	}
	p, err := startOneProcess(ctx, w, rdb, oneProcessStream, "", inFlight)
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	last, got, err := p.settle(n, w.qos)
	if err != nil {
		return result{}, err
	}
	return result{messages: got, took: last.Sub(p.started)}, nil
}

// readEntries hands the stream's new entries to jobs, 256 a read, until
// ctx ends; then it closes jobs.
func readEntries(ctx context.Context, fail context.CancelCauseFunc, rdb *redis.Client, stream string, jobs chan<- redis.XMessage) {
	defer close(jobs)
	for read := 0; ctx.Err() == nil; {
		streams, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: oneProcessGroup, Consumer: "bench", Streams: []string{stream, ">"}, Count: 256, Block: time.Second,
		}).Result()
		if errors.Is(err, redis.Nil) || ctx.Err() != nil {
			continue // nothing new within the second, or stopped
		}
		if err != nil {
			fail(fmt.Errorf("XREADGROUP after %d entries: %w", read, err))
			return
		}
		for _, m := range streams[0].Messages {
			select {
			case jobs <- m:
			case <-ctx.Done():
				return
			}
		}
		read += len(streams[0].Messages)
	}
}

// publishEntry publishes the event in entry m's envelope to its topic,
// under topicPrefix.
func publishEntry(ctx context.Context, publish func(context.Context, *paho.Publish) (*paho.PublishResponse, error), qos byte, topicPrefix string, m redis.XMessage) error {
	raw, _ := m.Values["event"].(string)
	var env struct {
		Topic   string `json:"topic"`
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		return fmt.Errorf("entry %s: %w", m.ID, err)
	}
	_, err := publish(ctx, &paho.Publish{Topic: topicPrefix + env.Topic, QoS: qos, Payload: []byte(env.Payload), Properties: bridgeProperties(m.ID)})
	if err != nil {
		return fmt.Errorf("publish entry %s: %w", m.ID, err)
	}
	return nil
}

// ackPublished acknowledges in Redis the ids of published messages, all
// that are waiting in one XACK, until published is closed.
func ackPublished(ctx context.Context, fail context.CancelCauseFunc, rdb *redis.Client, stream string, published <-chan string, acked *atomic.Int64) {
	ids := make([]string, 0, 256)
	for id := range published {
		ids = append(ids[:0], id)
	more:
		for len(ids) < cap(ids) {
			select {
			case id, ok := <-published:
				if !ok {
					break more
				}
				ids = append(ids, id)
			default:
				break more
			}
		}
		n, err := rdb.XAck(ctx, stream, oneProcessGroup, ids...).Result()
		if err != nil {
			if ctx.Err() != nil {
				return // stopped: what it acknowledged so far stands
			}
			fail(fmt.Errorf("XACK: %w", err))
			return
		}
		acked.Add(n)
	}
}
