package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// burstGap is the time between the steady phases' bursts.
const burstGap = 10 * time.Millisecond

// paced calls send every burstGap with what is due to keep rate items per
// second for d, catching up after a late tick, and returns how many it
// sent: the pace of both steady phases.
func paced(rate int, d time.Duration, send func(from, to int) error) (int, error) {
	tick := time.NewTicker(burstGap)
	defer tick.Stop()
	total := int(d.Seconds() * float64(rate))
	next := 0
	for start := time.Now(); next < total; {
		<-tick.C
		due := min(total, int(time.Since(start).Seconds()*float64(rate)))
		if due <= next {
			continue
		}
		if err := send(next, due); err != nil {
			return 0, err
		}
		next = due
	}
	return next, nil
}

// writeSteady writes rate events per second for d into stream, in small
// batches, numbered from first over tools; it returns how many.
func writeSteady(ctx context.Context, rdb *redis.Client, stream string, w workload, first, rate int, d time.Duration, tools int) (int, error) {
	return paced(rate, d, func(from, to int) error {
		return writeEventsTo(ctx, rdb, stream, w, first+from, first+to, spread(tools))
	})
}

// turnGap is the pause after each turn of the latency phase: the last
// acknowledgements land in it, and are counted in that turn's cost.
const turnGap = 200 * time.Millisecond

// steadySide is one of the latency phase's contenders: turn sends one
// turn's messages at the phase's rate and waits until they arrived; its
// costs are summed over its turns.
type steadySide struct {
	costs []costProc
	spent costReading
	turn  func() error
}

// take runs one turn of the side, and turnGap after it.
func (sd *steadySide) take() error {
	before := readCost(sd.costs)
	if err := sd.turn(); err != nil {
		return err
	}
	time.Sleep(turnGap)
	sd.spent.add(before, readCost(sd.costs))
	return nil
}

// steadyOutcome is what the latency phase measured of each side: the
// pipeline and the one-process pipeline from XADD to the subscriber, raw
// MQTT from the moment its client took the burst (and from each publish
// call), and the costs spent in each side's turns.
type steadyOutcome struct {
	pipeline, oneProcess, raw             result
	pipelineMean                          time.Duration
	pipelineCost, oneProcessCost, rawCost costReading
}

// runSteady is the latency phase: the pipeline (events numbered from
// first over the workload's tools, written to NEMO's stream and caught by
// c), the one-process pipeline one (see oneProcess) and raw MQTT (one
// paho.golang client in a process of its own, -raw-inflight outstanding)
// take turns at -rate a second, -steady-rounds turns each of -steady ÷
// -steady-rounds, in that order. On a shared machine the raw client's p99 moved from 2.6 to
// 4.6 ms between runs a minute apart, and a ratio of two figures taken a
// minute apart carried that; taking turns lets every side meet the
// machine in the same state. A turn ends once all its messages arrived
// and turnGap passed, so that no turn pays for the one before.
func runSteady(ctx context.Context, o options, w workload, rdb *redis.Client, c *collector, first int, one *oneProcess, rawCPU *childCPU, pipelineCosts, oneProcessCosts, rawCosts []costProc) (steadyOutcome, error) {
	rounds := max(1, o.steadyRounds)
	turn := o.steady / time.Duration(rounds)
	var out steadyOutcome
	// Every side's clock starts when a burst is handed over: the
	// pipelines' when the writer takes it, before it builds the envelopes
	// it XADDs in one write, raw MQTT's when its client takes it, not when
	// the client gets round to each message's publish call.
	w.stampBursts = true

	events, arrivedEvents := 0, 0
	pipeline := &steadySide{costs: pipelineCosts, spent: spentNothing(pipelineCosts), turn: func() error {
		n, err := writeSteady(ctx, rdb, nemoStream, w, first+events, o.rate, turn, o.tools)
		if err == nil {
			events += n
			_, arrivedEvents, err = settle(c, events, 30*time.Second, w.qos)
		}
		if err != nil {
			return fmt.Errorf("pipeline steady: %w", err)
		}
		return nil
	}}

	oneEvents, oneArrived := 0, 0
	oneProcess := &steadySide{costs: oneProcessCosts, spent: spentNothing(oneProcessCosts), turn: func() error {
		n, err := writeSteady(ctx, rdb, oneProcessSteadyStream, w, oneEvents, o.rate, turn, o.tools)
		if err == nil {
			oneEvents += n
			_, oneArrived, err = one.settle(oneEvents, w.qos)
		}
		if err != nil {
			return fmt.Errorf("one-process steady: %w", err)
		}
		return nil
	}}

	var failed error
	got, _, _, err := rawRun(ctx, w, "steady", o.rawInFlight, o.tools, false, rawCPU, func(send func(from, to int) error, rawArrived *collector) (int, error) {
		sent := 0
		raw := &steadySide{costs: rawCosts, spent: spentNothing(rawCosts), turn: func() error {
			from := sent
			n, err := paced(o.rate, turn, func(lo, hi int) error { return send(from+lo, from+hi) })
			sent += n
			if err != nil {
				return fmt.Errorf("raw steady: %w", err)
			}
			if _, _, err := settle(rawArrived, sent, 30*time.Second, w.qos); err != nil {
				return fmt.Errorf("raw steady: %w", err)
			}
			return nil
		}}
		defer func() { out.rawCost = raw.spent }()
		for range rounds {
			for _, side := range []*steadySide{pipeline, oneProcess, raw} {
				if failed = side.take(); failed != nil {
					return sent, nil
				}
			}
		}
		return sent, nil
	})
	if failed != nil {
		return out, failed
	}
	if err != nil {
		return out, fmt.Errorf("raw steady: %w", err)
	}
	out.pipeline, out.pipelineMean, out.pipelineCost = measured(c, arrivedEvents, o.steady), c.mean(), pipeline.spent
	out.oneProcess, out.oneProcessCost = measured(one.c, oneArrived, o.steady), oneProcess.spent
	out.raw = got.measured(o.steady)
	return out, nil
}
