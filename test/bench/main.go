// Command bench measures the bridge end to end on this machine: it drains
// a backlog of events from a real Redis through the three services to a
// real mosquitto and a subscriber, measures latency at a steady rate, and
// prints both beside the raw MQTT ceiling measured against the same broker
// in the same run.
//
//	make bench
//	go run ./test/bench -bin-dir bin -events 20000 -steady 5s
//	go run ./test/bench -bin-dir bin -qos 2 -tls -payload-bytes 1024 -phases 1,2
//	go run ./test/bench -bin-dir bin -memory
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.binDir, "bin-dir", "bin", "where the ingest, router and publisher binaries are")
	flag.IntVar(&o.events, "events", 100000, "events in the backlog to drain")
	flag.IntVar(&o.tools, "tools", 50, "tools the events are spread over")
	flag.IntVar(&o.shards, "shards", 1, "publisher shards, each its own publisher and MQTT session (client id bench-bridge-<n>); the router spreads the tools over them")
	flag.IntVar(&o.oneToolEvents, "one-tool-events", 20000, "events in the backlog for one tool")
	flag.IntVar(&o.rate, "rate", 2000, "events per second in the latency phase")
	flag.DurationVar(&o.steady, "steady", 20*time.Second, "how long the latency phase lasts, for the pipeline and for raw MQTT each (in -steady-rounds turns)")
	flag.IntVar(&o.steadyRounds, "steady-rounds", 4, "the latency phase's turns: the pipeline, the one-process pipeline and raw MQTT take turns this many times each, for -steady ÷ this each turn, so that all meet the machine in the same state")
	flag.IntVar(&o.drainRounds, "drain-rounds", 5, "with phases 1 and 2: the raw ceiling and the drain are measured this many times, in pairs back to back (the first pair is phases 1 and 2), and drain_ratio is the median pair's")
	flag.IntVar(&o.brokerInFlight, "broker-inflight", 0, "mosquitto's max_inflight_messages, the Receive Maximum it announces (0: unlimited; -1: mosquitto's default, 20)")
	flag.BoolVar(&o.brokerNoDelay, "broker-nodelay", false, "mosquitto sends without Nagle's delay (set_tcp_nodelay true), as docs/performance.md's Tuning suggests; the default is mosquitto's own (Nagle on)")
	flag.IntVar(&o.rawInFlight, "raw-inflight", 1000, "publishes outstanding at once in the raw MQTT ceiling and the raw steady phase")
	flag.IntVar(&o.qos, "qos", 1, "the QoS NEMO's envelope asks for, which the bridge publishes with; the raw phases publish with it too (0, 1 or 2)")
	flag.IntVar(&o.payloadBytes, "payload-bytes", 0, "pad each event's payload to about this many bytes with a filler field (0: the probe as it is, about 60 bytes); raw MQTT's messages too")
	flag.BoolVar(&o.tls, "tls", false, "mosquitto listens with TLS (certificates made for the run); the publisher and the bench's clients connect with mqtts://")
	phases := flag.String("phases", "all", "which phases to run, e.g. 1,2")
	flag.BoolVar(&o.memory, "memory", false, "run the memory test instead of the phases: a large backlog drained with the gateway polled and the broker stopped for -outage, the services' VmRSS before, during and after")
	flag.IntVar(&o.memoryEvents, "memory-events", 1000000, "-memory: events in the backlog (over -tools tools)")
	flag.DurationVar(&o.outage, "outage", 60*time.Second, "-memory: how long mosquitto stays stopped")
	childConfig := flag.String("child", "", "internal: run as a client the bench starts in a process of its own (the raw MQTT client, the one-process pipeline), configured by this JSON")
	profileDir := flag.String("profile", "", "write Go CPU profiles (the first 5 s of the drain: phase 2, or phase 3 when 2 is not run) and allocation profiles of ingest, router and publisher to this directory")
	flag.Parse()
	if *childConfig != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := runChild(ctx, *childConfig); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	var err error
	if o.phases, err = parsePhases(*phases); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if o.qos < 0 || o.qos > 2 {
		fmt.Fprintln(os.Stderr, "bench: -qos must be 0, 1 or 2")
		os.Exit(2)
	}
	if o.profile, err = newProfiler(*profileDir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	// On SIGTERM too, the run stops its redis-server, mosquitto and
	// services before it exits, instead of leaving them running.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err = run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
