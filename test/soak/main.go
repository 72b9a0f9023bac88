// Command soak runs the bridge for minutes while faults take turns (kill -9
// of each service, Redis shut down, the broker out of reach for a minute,
// hostile entries) and ends with a table: sent, delivered, lost,
// duplicated, reordered, longest stall. It exits 1 when an event was lost
// or reordered or a service gave up.
//
//	make soak
//	go run ./test/soak -bin-dir bin -duration 5m
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/chaos"
)

// quiet drops go-redis's own log lines: while Redis is down on purpose,
// the producer's pool would print one a dial and bury the run's story.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func main() {
	o := chaos.Options{Log: os.Stdout}
	keep := flag.Bool("keep", false, "keep the run's directory (logs) when it passes too")
	flag.StringVar(&o.Bin, "bin-dir", "bin", "where the services' binaries are")
	flag.DurationVar(&o.Duration, "duration", 4*time.Minute, "how long faults strike")
	flag.DurationVar(&o.Pause, "pause", 10*time.Second, "time between two faults")
	flag.DurationVar(&o.BrokerOutage, "broker-outage", time.Minute, "how long the broker is out of reach")
	flag.DurationVar(&o.RedisOutage, "redis-outage", 10*time.Second, "how long Redis is down")
	flag.DurationVar(&o.Drain, "drain", 90*time.Second, "how long delivery may stall after the faults before the rest counts as lost")
	flag.IntVar(&o.Rate, "rate", 200, "good events per second")
	flag.IntVar(&o.Tools, "tools", 20, "tools the events are spread over")
	flag.Parse()
	redis.SetLogger(quiet{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if o.Dir, err = os.MkdirTemp("", "nemo-soak-"); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	r, err := chaos.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		fmt.Fprintln(os.Stderr, "logs in", o.Dir)
		os.Exit(1)
	}
	r.Print(os.Stdout)
	if broken := r.Failed(); broken != "" {
		fmt.Printf("\nFAILED: %s (logs in %s)\n", broken, o.Dir)
		os.Exit(1)
	}
	if *keep {
		fmt.Println("logs in", o.Dir)
	} else {
		os.RemoveAll(o.Dir)
	}
}
