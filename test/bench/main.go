// Command bench measures the bridge end to end on this machine: it drains
// a backlog of events from a real Redis through the three services to a
// real mosquitto and a subscriber, measures latency at a steady rate, and
// prints both beside the raw MQTT ceiling measured against the same broker
// in the same run.
//
//	make bench
//	go run ./test/bench -bin-dir bin -events 20000 -steady 5s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.binDir, "bin-dir", "bin", "where the ingest, router and publisher binaries are")
	flag.IntVar(&o.events, "events", 100000, "events in the backlog to drain")
	flag.IntVar(&o.tools, "tools", 50, "tools the events are spread over")
	flag.IntVar(&o.oneToolEvents, "one-tool-events", 20000, "events in the backlog for one tool")
	flag.IntVar(&o.rate, "rate", 2000, "events per second in the latency phase")
	flag.DurationVar(&o.steady, "steady", 20*time.Second, "how long the latency phase lasts, for the pipeline and for raw MQTT each")
	flag.IntVar(&o.brokerInFlight, "broker-inflight", 0, "mosquitto's max_inflight_messages, the Receive Maximum it announces (0: unlimited; -1: mosquitto's default, 20)")
	flag.IntVar(&o.rawInFlight, "raw-inflight", 1000, "publishes outstanding at once in the raw MQTT ceiling and the raw steady phase")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
