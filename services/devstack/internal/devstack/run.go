package devstack

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/devstack/internal/demo"
)

// Local ports of the services, as in their own defaults.
var ports = map[string][2]string{
	"publisher": {"127.0.0.1:7003", "127.0.0.1:9103"},
	"router":    {"127.0.0.1:7002", "127.0.0.1:9102"},
	"ingest":    {"127.0.0.1:7001", "127.0.0.1:9101"},
}

// Run starts everything and stops it all, in order, when ctx ends.
func Run(ctx context.Context, o Options) error {
	redisURL, mqttURL := o.RedisURL, o.MQTTURL
	if redisURL == "" {
		m, u, err := startRedis(o.EmbeddedRedisAddr)
		if err != nil {
			return err
		}
		defer m.Close()
		redisURL = u
	}
	if mqttURL == "" {
		b, u, err := startBroker(o.EmbeddedMQTTAddr)
		if err != nil {
			return err
		}
		defer b.Close()
		mqttURL = u
	}
	children, err := services(o, redisURL, mqttURL)
	if err != nil {
		return err
	}
	runCtx, stopChildren := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Add(1)
		go func() { defer wg.Done(); c.supervise(runCtx, os.Stdout) }()
	}
	banner(o, redisURL, mqttURL)

	if o.Demo {
		if err := playDemo(ctx, o, redisURL); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
		}
	}
	<-ctx.Done()
	fmt.Println("stopping: ingest, then router, then publisher")
	stopChildren()
	for i := len(children) - 1; i >= 0; i-- { // ingest was started last
		children[i].stop()
	}
	wg.Wait()
	return nil
}

func services(o Options, redisURL, mqttURL string) ([]*child, error) {
	args := map[string][]string{
		"publisher": {"-mqtt-url", mqttURL},
		"router":    {"-publisher-addr", ports["publisher"][0], "-redis-url", redisURL},
		"ingest":    {"-redis-url", redisURL, "-router-addr", ports["router"][0], "-ingest-mode", o.IngestMode},
	}
	var out []*child
	for _, name := range []string{"publisher", "router", "ingest"} {
		bin, err := binary(o.BinDir, name)
		if err != nil {
			return nil, err
		}
		common := []string{"-grpc-addr", ports[name][0], "-http-addr", ports[name][1], "-log-format", "text"}
		out = append(out, &child{name: name, bin: bin, args: append(common, args[name]...)})
	}
	return out, nil
}

// playDemo writes the demo lab's events into the input until ctx ends.
func playDemo(ctx context.Context, o Options, redisURL string) error {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	lab := demo.NewLab(o.DemoSeed)
	tick := time.NewTicker(o.DemoInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			for _, e := range lab.Next(now) {
				if err := write(ctx, rdb, o.IngestMode, e.Envelope(now)); err != nil && ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "demo: cannot write an event:", err)
				}
			}
		}
	}
}

// write puts one envelope where the NEMO plugin would for that input.
func write(ctx context.Context, rdb *redis.Client, mode, envelope string) error {
	switch mode {
	case "list":
		return rdb.LPush(ctx, "nemo_mqtt_events", envelope).Err()
	case "pubsub":
		return rdb.Publish(ctx, "nemo_mqtt_events", envelope).Err()
	}
	return rdb.XAdd(ctx, &redis.XAddArgs{Stream: "nemo:events", Values: []any{"event", envelope}}).Err()
}

func banner(o Options, redisURL, mqttURL string) {
	b, _ := url.Parse(mqttURL)
	r, _ := url.Parse(redisURL)
	embedded := func(given string) string {
		if given == "" {
			return " (embedded, for trying it out only)"
		}
		return ""
	}
	fmt.Printf(`
NEMO MQTT bridge is running.
  Redis:        %s%s, input: %s
  MQTT broker:  %s%s
  Demo events:  %v
Watch the messages:
  mosquitto_sub -h %s -p %s -t 'nemo/#' -v
Look into Redis:
  redis-cli -h %s -p %s -n 1 XRANGE nemo:events:dead - +
Metrics: http://%s/metrics (ingest), http://%s/metrics (router), http://%s/metrics (publisher)
Stop with Ctrl-C.

`, redisURL, embedded(o.RedisURL), o.IngestMode, mqttURL, embedded(o.MQTTURL), o.Demo,
		b.Hostname(), b.Port(), r.Hostname(), r.Port(),
		ports["ingest"][1], ports["router"][1], ports["publisher"][1])
}
