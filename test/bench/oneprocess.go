package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/redis/go-redis/v9"
)

// The streams the one-process pipeline reads, apart from NEMO's so that the
// bridge's phases never see their entries: phase 1's backlog, and phase
// 4's steady turns.
const (
	oneProcessStream       = "bench:one-process"
	oneProcessSteadyStream = "bench:one-process-steady"
)

// oneProcessGroup is its consumer group.
const oneProcessGroup = "one-process"

// oneProcess is the least a pipeline from Redis Streams to MQTT does for
// an event, in a process of its own (a child), as a general-purpose
// pipeline would: read the stream in batches of 256 with XREADGROUP, take
// the topic and payload out of NEMO's envelope, publish each message with
// the bridge's properties (so the broker and the subscriber get messages
// of the bridge's shape), inFlight outstanding through one paho.golang
// client as the raw ceiling does, and XACK what the broker acknowledged.
// No tool state, no rules, no hops between processes: what the bridge
// pays beyond this is what its design costs. Its subscriber is here.
type oneProcess struct {
	c       *collector
	sub     *autopaho.ConnectionManager
	child   *child
	rdb     *redis.Client
	stream  string
	started time.Time // when the pipeline, connected, began to read
}

// startOneProcess starts the one-process pipeline on stream (of the Redis
// at redisURL, which rdb reaches), from its first entry, its CPU time
// counted in cpu, publishing each message under topicPrefix so that,
// beside the bridge, it has a subscriber of its own.
func startOneProcess(ctx context.Context, w workload, rdb *redis.Client, redisURL, stream, topicPrefix string, inFlight int, cpu *childCPU) (*oneProcess, error) {
	if err := rdb.XGroupCreateMkStream(ctx, stream, oneProcessGroup, "0").Err(); err != nil {
		return nil, fmt.Errorf("create the consumer group of %s: %w", stream, err)
	}
	p := &oneProcess{c: newCollector(), rdb: rdb, stream: stream}
	var err error
	if p.sub, err = subscribe(ctx, w, topicPrefix+"nemo/tools/+/enabled", p.c); err != nil {
		return nil, err
	}
	cfg := childConfigFor(childOneProcess, w, inFlight)
	cfg.RedisURL, cfg.Stream, cfg.TopicPrefix = redisURL, stream, topicPrefix
	if p.child, err = startChild(cfg, cpu); err != nil {
		p.sub.Disconnect(context.Background())
		return nil, err
	}
	p.started = time.Now()
	return p, nil
}

// settle waits until n distinct messages arrived and nothing read is
// left unacknowledged, and returns the last arrival and how many arrived.
func (p *oneProcess) settle(n int, qos byte) (time.Time, int, error) {
	last, got, err := settle(p.c, n, 30*time.Second, qos)
	if err != nil {
		return last, got, err
	}
	for wait := time.Now(); ; time.Sleep(time.Millisecond) {
		pending, err := p.rdb.XPending(context.Background(), p.stream, oneProcessGroup).Result()
		if err != nil {
			return last, got, fmt.Errorf("XPENDING %s: %w", p.stream, err)
		}
		if pending.Count == 0 {
			return last, got, nil
		}
		if ended, exit := p.child.ended(); ended || time.Since(wait) > 10*time.Second {
			return last, got, fmt.Errorf("the one-process pipeline left %d entries unacknowledged (ended: %v, %v)", pending.Count, ended, exit)
		}
	}
}

// stop stops the pipeline and the subscriber; a pipeline that failed
// says why.
func (p *oneProcess) stop() error {
	defer p.sub.Disconnect(context.Background())
	if err := p.child.finish(); err != nil {
		return fmt.Errorf("the one-process pipeline: %w", err)
	}
	return nil
}

// runOneProcessChild is the one-process pipeline's process, until its
// input ends.
func runOneProcessChild(ctx context.Context, cfg childConfig, w workload) error {
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	pub, err := connect(ctx, w, "bench-"+strings.ReplaceAll(cfg.Stream, ":", "-")+"-pub", nil, nil)
	if err != nil {
		return err
	}
	defer pub.Disconnect(context.Background())
	fmt.Println("ready")

	ctx, cancel := context.WithCancelCause(ctx)
	jobs := make(chan redis.XMessage, cfg.InFlight)
	published := make(chan string, cfg.InFlight)
	var wg sync.WaitGroup
	go readEntries(ctx, cancel, rdb, cfg.Stream, jobs)
	for range cfg.InFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				if err := publishEntry(ctx, pub.Publish, w.qos, cfg.TopicPrefix, m); err != nil {
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
	acked := make(chan struct{})
	go func() { defer close(acked); ackPublished(ctx, cancel, rdb, cfg.Stream, published) }()
	inputEnded := make(chan error, 1)
	go func() { inputEnded <- readWork(ctx, func(string) error { return nil }) }()
	var input error
	select {
	case input = <-inputEnded:
	case <-ctx.Done(): // failed
	}
	cancel(nil)
	<-acked
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return input
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
// that are waiting in one XACK, until published is closed or ctx ends.
func ackPublished(ctx context.Context, fail context.CancelCauseFunc, rdb *redis.Client, stream string, published <-chan string) {
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
		if err := rdb.XAck(ctx, stream, oneProcessGroup, ids...).Err(); err != nil {
			if ctx.Err() == nil {
				fail(fmt.Errorf("XACK: %w", err))
			}
			return
		}
	}
}
