package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

type options struct {
	binDir         string
	events, tools  int
	rate           int
	brokerInFlight int
	rawInFlight    int
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "nemo-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rp, redisAddr, err := startRedis(dir)
	if err != nil {
		return err
	}
	defer rp.stop()
	mp, mqttAddr, err := startMosquitto(dir, o.brokerInFlight)
	if err != nil {
		return err
	}
	defer mp.stop()
	broker, _ := url.Parse("mqtt://" + mqttAddr)
	fmt.Printf("bench: %d cores, %s, mosquitto max_inflight_messages %d, %d events over %d tools\n\n",
		runtime.NumCPU(), runtime.Version(), o.brokerInFlight, o.events, o.tools)

	raw, err := ceiling(ctx, broker, o.events, o.rawInFlight)
	if err != nil {
		return fmt.Errorf("raw MQTT ceiling: %w", err)
	}
	fmt.Printf("raw MQTT QoS1 ceiling (paho, %d in flight)   %s\n", o.rawInFlight, raw)

	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, DB: 1})
	defer rdb.Close()
	c := newCollector()
	sub, err := subscribe(ctx, broker, "nemo/tools/+/enabled", c)
	if err != nil {
		return err
	}
	defer sub.Disconnect(context.Background())

	// The backlog is written before ingest starts, so the drain measures
	// the services and not how fast this program writes.
	if err := writeEvents(ctx, rdb, 0, o.events, o.tools); err != nil {
		return err
	}
	services, ingest, err := startPipeline(ctx, dir, o.binDir, "redis://"+redisAddr+"/1", broker.String())
	if err != nil {
		return err
	}
	defer func() {
		for _, p := range services {
			p.stop()
		}
	}()
	startedAt := time.Now()
	if err := ingest(); err != nil {
		return err
	}
	last, err := c.wait(o.events, 60*time.Second)
	if err != nil {
		return fmt.Errorf("pipeline drain: %w (logs in %s)", err, dir)
	}
	drain := result{messages: o.events, took: last.Sub(startedAt)}
	fmt.Printf("pipeline: drain a backlog of %d events          %s\n", o.events, drain)

	c.reset()
	n, err := writeSteady(ctx, rdb, o.events, o.rate, 5*time.Second, o.tools)
	if err != nil {
		return err
	}
	if _, err := c.wait(n, 30*time.Second); err != nil {
		return fmt.Errorf("pipeline steady: %w", err)
	}
	steady := measured(c, n, 5*time.Second)
	fmt.Printf("pipeline: steady %d events/s, Redis→subscriber %s\n\n", o.rate, steady)
	fmt.Printf("drain throughput is %.0f%% of the raw ceiling (each event also publishes its tool's status snapshot, so the broker carries twice as many messages)\n",
		100*drain.rate()/raw.rate())
	return nil
}

// startPipeline starts the publisher and the router, waits until they are
// ready, and returns a function that starts ingest (the clock starts then).
func startPipeline(ctx context.Context, dir, binDir, redisURL, mqttURL string) ([]*process, func() error, error) {
	var ports [6]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		ports[i] = p
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	common := func(grpc, http int) []string {
		return []string{"-grpc-addr", addr(grpc), "-http-addr", addr(http), "-log-format", "text", "-log-level", "warn"}
	}
	var started []*process
	launch := func(name string, args ...string) error {
		p, err := start(dir, name, filepath.Join(binDir, name), args...)
		if err != nil {
			return err
		}
		started = append(started, p)
		return nil
	}
	if err := launch("publisher", append(common(0, 1), "-mqtt-url", mqttURL, "-mqtt-client-id", "bench-bridge")...); err != nil {
		return started, nil, err
	}
	if err := launch("router", append(common(2, 3), "-publisher-addr", addr(0), "-redis-url", redisURL)...); err != nil {
		return started, nil, err
	}
	for _, http := range []int{1, 3} {
		if err := waitReady(ctx, addr(http)); err != nil {
			return started, nil, err
		}
	}
	return started, func() error {
		return launch("ingest", append(common(4, 5), "-redis-url", redisURL, "-router-addr", addr(2))...)
	}, nil
}

// writeEvents writes events from..to-1 in the NEMO plugin's envelope.
func writeEvents(ctx context.Context, rdb *redis.Client, from, to, tools int) error {
	pipe := rdb.Pipeline()
	for i := from; i < to; i++ {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: "nemo:events", Values: []any{"event", envelope(i, tools)}})
		if pipe.Len() == 1000 || i == to-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("write events: %w", err)
			}
		}
	}
	return nil
}

// writeSteady writes rate events per second for d, in small batches every
// 10 ms, and returns how many it wrote.
func writeSteady(ctx context.Context, rdb *redis.Client, first, rate int, d time.Duration, tools int) (int, error) {
	perTick := max(1, rate/100)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	next := first
	for end := time.Now().Add(d); time.Now().Before(end); {
		<-tick.C
		if err := writeEvents(ctx, rdb, next, next+perTick, tools); err != nil {
			return 0, err
		}
		next += perTick
	}
	return next - first, nil
}

func envelope(i, tools int) string {
	payload, _ := json.Marshal(probe{ToolID: i % tools, Seq: i, SentNS: time.Now().UnixNano()})
	env, _ := json.Marshal(map[string]any{
		"topic":     fmt.Sprintf("nemo/tools/%d/enabled", i%tools),
		"payload":   string(payload),
		"qos":       1,
		"retain":    false,
		"timestamp": float64(time.Now().UnixMilli()) / 1000,
	})
	return string(env)
}
