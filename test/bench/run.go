package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
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
	env := harness.NewEnv(dir)
	defer env.Close()
	redisSrv, err := env.StartRedis()
	if err != nil {
		return err
	}
	pki, err := env.NewPKI()
	if err != nil {
		return err
	}
	mosq, err := env.StartMosquitto(pki, harness.MosquittoOptions{MaxInflight: o.brokerInFlight})
	if err != nil {
		return err
	}
	broker, _ := url.Parse("mqtt://" + mosq.PlainAddr)
	fmt.Printf("bench: %d cores, %s, mosquitto max_inflight_messages %s, %d events over %d tools\n\n",
		runtime.NumCPU(), runtime.Version(), inflightText(o.brokerInFlight), o.events, o.tools)

	raw, err := ceiling(ctx, broker, o.events, o.rawInFlight)
	if err != nil {
		return fmt.Errorf("raw MQTT ceiling: %w", err)
	}
	fmt.Printf("raw MQTT QoS1 ceiling (paho, %d in flight)   %s\n", o.rawInFlight, raw)

	rdb := redisSrv.Client(1)
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
	pub, err := env.StartService(o.binDir, "publisher", "-log-level", "warn", "-mqtt-url", broker.String(), "-mqtt-client-id", "bench-bridge")
	if err != nil {
		return err
	}
	router, err := env.StartService(o.binDir, "router", "-log-level", "warn", "-publisher-addr", pub.GRPCAddr, "-redis-url", redisSrv.URL(1))
	if err != nil {
		return err
	}
	for _, s := range []*harness.Service{pub, router} {
		if err := s.WaitReady(20 * time.Second); err != nil {
			return err
		}
	}
	startedAt := time.Now()
	if _, err := env.StartService(o.binDir, "ingest", "-log-level", "warn", "-redis-url", redisSrv.URL(1), "-router-addr", router.GRPCAddr); err != nil {
		return err
	}
	last, err := c.wait(o.events, 60*time.Second)
	if err != nil {
		return fmt.Errorf("pipeline drain: %w\n%s", err, env.LogTails(20))
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
	fmt.Printf("drain: %.0f events/s, %.0f%% of the raw ceiling (each tool's status snapshot rides along: up to 2 MQTT messages per event)\n",
		drain.rate(), 100*drain.rate()/raw.rate())
	return nil
}

func inflightText(n int) string {
	if n == 0 {
		return "20 (mosquitto's default)"
	}
	return strconv.Itoa(n)
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
