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
// NEMO's so that the bridge's phases never see its entries.
const oneProcessStream = "bench:one-process"

// oneProcessGroup is its consumer group.
const oneProcessGroup = "one-process"

// oneProcessPipeline measures the least a pipeline from Redis Streams to
// MQTT does for an event, in one process, as a general-purpose pipeline
// would: read the backlog in batches of 256 with XREADGROUP, take the
// topic and payload out of NEMO's envelope, publish each message with the
// bridge's properties (so the broker and the subscriber get messages of
// the bridge's shape), inFlight outstanding through one paho.golang
// client as the raw ceiling does, and XACK what the broker acknowledged.
// No tool state, no rules, no hops between processes: what the drain of
// phase 2 pays beyond this is what the bridge's design costs.
func oneProcessPipeline(ctx context.Context, w workload, rdb *redis.Client, n, inFlight, tools int) (result, error) {
	if err := writeEventsTo(ctx, rdb, oneProcessStream, w, 0, n, spread(tools)); err != nil {
		return result{}, err
	}
	if err := rdb.XGroupCreate(ctx, oneProcessStream, oneProcessGroup, "0").Err(); err != nil {
		return result{}, fmt.Errorf("create the consumer group: %w", err)
	}
	c := newCollector()
	sub, err := subscribe(ctx, w, "nemo/tools/+/enabled", c)
	if err != nil {
		return result{}, err
	}
	defer sub.Disconnect(context.Background())
	pub, err := connect(ctx, w, "bench-one-process-pub", nil, nil)
	if err != nil {
		return result{}, err
	}
	defer pub.Disconnect(context.Background())

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan redis.XMessage, inFlight)
	published := make(chan string, inFlight)
	var acked atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	go readBacklog(ctx, cancel, rdb, n, jobs)
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				if err := publishEntry(ctx, pub.Publish, w.qos, m); err != nil {
					cancel(err)
					return
				}
				select {
				case published <- m.ID:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(published) }()
	done := make(chan struct{})
	go func() { defer close(done); ackPublished(ctx, cancel, rdb, published, &acked) }()

	last, got, err := settle(c, n, 30*time.Second, w.qos)
	<-done
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return result{}, fmt.Errorf("one-process pipeline: %w", cause)
	}
	if err != nil {
		return result{}, err
	}
	if a := acked.Load(); a != int64(n) {
		return result{}, fmt.Errorf("one-process pipeline acknowledged %d of %d entries", a, n)
	}
	return result{messages: got, took: last.Sub(start)}, nil
}

// readBacklog hands the stream's first n entries to jobs, 256 a read, and
// closes it.
func readBacklog(ctx context.Context, fail context.CancelCauseFunc, rdb *redis.Client, n int, jobs chan<- redis.XMessage) {
	defer close(jobs)
	for read := 0; read < n; {
		streams, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: oneProcessGroup, Consumer: "bench", Streams: []string{oneProcessStream, ">"}, Count: 256, Block: time.Second,
		}).Result()
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

// publishEntry publishes the event in entry m's envelope to its topic.
func publishEntry(ctx context.Context, publish func(context.Context, *paho.Publish) (*paho.PublishResponse, error), qos byte, m redis.XMessage) error {
	raw, _ := m.Values["event"].(string)
	var env struct {
		Topic   string `json:"topic"`
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		return fmt.Errorf("entry %s: %w", m.ID, err)
	}
	_, err := publish(ctx, &paho.Publish{Topic: env.Topic, QoS: qos, Payload: []byte(env.Payload), Properties: bridgeProperties(m.ID)})
	if err != nil {
		return fmt.Errorf("publish entry %s: %w", m.ID, err)
	}
	return nil
}

// ackPublished acknowledges in Redis the ids of published messages, all
// that are waiting in one XACK, until published is closed.
func ackPublished(ctx context.Context, fail context.CancelCauseFunc, rdb *redis.Client, published <-chan string, acked *atomic.Int64) {
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
		n, err := rdb.XAck(ctx, oneProcessStream, oneProcessGroup, ids...).Result()
		if err != nil {
			fail(fmt.Errorf("XACK: %w", err))
			return
		}
		acked.Add(n)
	}
}
