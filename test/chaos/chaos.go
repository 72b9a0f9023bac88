// Package chaos runs the bridge on real parts while faults strike it one
// after another (kill -9 of each service, Redis shut down, the broker out of
// reach, hostile entries) and reports what a lab would care about: sent,
// delivered, lost, duplicated, reordered, and the longest stall. `make soak`
// runs it for minutes; a short run is part of `make test`.
package chaos

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// Options say how long and how hard to run.
type Options struct {
	Bin  string // where the services' binaries are
	Dir  string // the run's working directory (logs, Redis dump, certificates)
	Log  io.Writer
	Rate int // good events per second
	// Tools the events are spread over; each tool's events are numbered.
	Tools int
	// Duration of the faulted run; the drain afterwards is not counted in it.
	Duration time.Duration
	// Pause between two faults, so that each one's recovery is seen alone.
	Pause time.Duration
	// BrokerOutage and RedisOutage are how long the broker stays out of
	// reach and Redis stays down.
	BrokerOutage, RedisOutage time.Duration
	// Drain is how long, after the last fault, delivery may stall before
	// what has not arrived counts as lost.
	Drain time.Duration
}

// Run starts the bridge, produces events at o.Rate while the faults take
// turns for o.Duration, waits for the drain and reports.
func Run(ctx context.Context, o Options) (*Report, error) {
	env := harness.NewEnv(o.Dir)
	defer env.Close()
	p, err := env.StartPipeline(o.Bin, harness.PipelineOptions{GateBridge: true})
	if err != nil {
		return nil, err
	}
	sub, err := p.Subscribe("nemo/tools/+/enabled")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(o.Log, "%7.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	prod := startProducer(ctx, p.Redis, o.Rate, o.Tools)
	faults := faultsOf(p, o, prod)
	var struck []string
	for i := 0; time.Since(start) < o.Duration && ctx.Err() == nil; i++ {
		sleep(ctx, o.Pause)
		f := faults[i%len(faults)]
		logf("%s", f.name)
		if err := f.strike(ctx); err != nil {
			prod.stop()
			return nil, fmt.Errorf("%s: %w\n%s", f.name, err, env.LogTails(20))
		}
		struck = append(struck, f.name)
	}
	sleep(ctx, o.Pause)
	sent := prod.stop()
	logf("faults over, %d events sent; waiting for the drain", sent.good)
	// Counted as the report counts them: a hostile entry that is published
	// (one is, on a tool's topic) is no event, and counting it as one
	// ended the wait one event early, reporting as lost an event still on
	// its way.
	_ = sub.WaitFor(o.Drain, func(msgs []harness.Message) (bool, string) {
		d := analyse(msgs, sent, o.Tools).Delivered
		return d >= sent.good, fmt.Sprintf("%d of %d", d, sent.good)
	})
	r := analyse(sub.Messages(), sent, o.Tools)
	r.Faults = struck
	r.HostileSent = sent.hostile
	r.DeadLetters, err = deadLetters(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, s := range []*harness.Service{p.Ingest, p.Router, p.Publisher} {
		if !s.Running() {
			r.Exited = append(r.Exited, s.Name)
		}
	}
	if r.Lost > 0 || r.Reordered > 0 || len(r.Exited) > 0 {
		r.LogTails = env.LogTails(40)
	}
	return r, nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func deadLetters(ctx context.Context, p *harness.Pipeline) (int64, error) {
	rdb := p.Redis.Client(1)
	defer rdb.Close()
	n, err := rdb.XLen(ctx, "nemo:events:dead").Result()
	if err != nil {
		return 0, fmt.Errorf("counting dead letters: %w", err)
	}
	return n, nil
}
