package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

type options struct {
	binDir         string
	events, tools  int
	oneToolEvents  int
	rate           int
	steady         time.Duration
	brokerInFlight int
	rawInFlight    int
}

// run measures the phases in order, against one redis-server and one
// mosquitto: 1 the raw MQTT ceiling, 2 the drain of a backlog over many
// tools (the services' resident sets sampled meanwhile), 3 the drain of a
// backlog for one tool, 4 steady-rate latency, the pipeline's and raw
// MQTT's.
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
	addr, err := startBroker(env, o.brokerInFlight)
	if err != nil {
		return err
	}
	broker, _ := url.Parse("mqtt://" + addr)
	fmt.Printf("bench: %d cores, %s, mosquitto max_inflight_messages %s\n\n",
		runtime.NumCPU(), runtime.Version(), inflightText(o.brokerInFlight))

	var s summary
	if s.raw, err = ceiling(ctx, broker, o.events, o.rawInFlight); err != nil {
		return fmt.Errorf("raw MQTT ceiling: %w", err)
	}
	fmt.Printf("1 raw MQTT QoS1 ceiling (paho, %d in flight)          %s\n", o.rawInFlight, s.raw)

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
	if err := writeEvents(ctx, rdb, 0, o.events, spread(o.tools)); err != nil {
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
	ingest, err := env.StartService(o.binDir, "ingest", "-log-level", "warn", "-redis-url", redisSrv.URL(1), "-router-addr", router.GRPCAddr)
	if err != nil {
		return err
	}
	rss := sampleRSS(100*time.Millisecond, ingest.PID(), router.PID(), pub.PID())
	last, err := c.wait(o.events, 60*time.Second)
	peak, end := rss.finish()
	if err != nil {
		return fmt.Errorf("pipeline drain: %w\n%s", err, env.LogTails(20))
	}
	s.drain = result{messages: o.events, took: last.Sub(startedAt)}
	fmt.Printf("2 pipeline: drain %d events over %d tools         %s\n", o.events, o.tools, s.drain)
	for i, name := range []string{"ingest", "router", "publisher"} {
		fmt.Printf("  RSS %-9s peak %6.1f MiB, at the end of the drain %6.1f MiB\n", name, mib(peak[i]), mib(end[i]))
		s.maxRSS = max(s.maxRSS, peak[i])
	}

	// One tool whose state the services have never seen, its backlog
	// written while ingest is stopped; ingest resumes its consumer group.
	c.reset()
	if err := ingest.Stop(); err != nil {
		return fmt.Errorf("stop ingest: %w", err)
	}
	next := o.events
	if err := writeEvents(ctx, rdb, next, next+o.oneToolEvents, func(int) int { return o.tools }); err != nil {
		return err
	}
	next += o.oneToolEvents
	startedAt = time.Now()
	if err := ingest.Start(); err != nil {
		return err
	}
	if last, err = c.wait(o.oneToolEvents, 60*time.Second); err != nil {
		return fmt.Errorf("one-tool drain: %w\n%s", err, env.LogTails(20))
	}
	s.oneTool = result{messages: o.oneToolEvents, took: last.Sub(startedAt)}
	fmt.Printf("3 pipeline: drain %d events for one tool           %s\n", o.oneToolEvents, s.oneTool)

	c.reset()
	n, err := writeSteady(ctx, rdb, next, o.rate, o.steady, o.tools)
	if err != nil {
		return err
	}
	if _, err := c.wait(n, 30*time.Second); err != nil {
		return fmt.Errorf("pipeline steady: %w", err)
	}
	s.steady = measured(c, n, o.steady)
	fmt.Printf("4 pipeline: steady %d events/s, XADD→subscriber   %s\n", o.rate, s.steady)
	if s.rawSteady, err = rawSteady(ctx, broker, o.rate, o.steady, o.rawInFlight, o.tools); err != nil {
		return fmt.Errorf("raw steady: %w", err)
	}
	fmt.Printf("4 raw MQTT: steady %d msgs/s, publish→subscriber  %s\n\n", o.rate, s.rawSteady)
	fmt.Printf("drain: %.0f%% of the raw ceiling (each tool's status snapshot rides along: up to 2 MQTT messages per event)\n",
		100*s.drain.rate()/s.raw.rate())
	fmt.Println(s)
	return nil
}
