package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// drainRound is one pair of the drain's measurement: the raw ceiling, then
// the pipeline's drain of as many events, back to back.
type drainRound struct{ raw, drain result }

func (r drainRound) ratio() float64 { return r.drain.rate() / r.raw.rate() }

// medianRound is the round whose ratio is the median of all (the lower
// of the two middle ones for an even count): its raw and drain figures
// are the ratio's two sides, so the summary's raw= and drain= divide to
// its drain_ratio.
func medianRound(rounds []drainRound) drainRound {
	sorted := slices.Clone(rounds)
	slices.SortFunc(sorted, func(a, b drainRound) int {
		switch {
		case a.ratio() < b.ratio():
			return -1
		case a.ratio() > b.ratio():
			return 1
		}
		return 0
	})
	return sorted[(len(sorted)-1)/2]
}

// moreDrainRounds measures rounds two to o.drainRounds: each the raw
// ceiling, then the pipeline draining o.events more over o.tools tools
// (written while ingest is stopped, timed from its restart). The raw
// ceiling of one run moves with the machine (it varied 20,400 – 29,400
// msg/s between runs on this machine), and phases 1 and 2 are half a minute
// apart; pairs measured back to back, and the median of their ratios,
// give a drain_ratio that does not hang on one moment of the machine
// (in one run of five rounds the drain alone went 18,900 – 26,800
// events/s while the ceiling stayed at 24,500 – 26,300 msg/s: six busy
// processes on two cores). next is the first event number not written yet; it returns the rounds
// and the next one after them, each drain's cost per event (costs) printed
// under it.
func moreDrainRounds(ctx context.Context, o options, w workload, rdb *redis.Client, br *bridge, c *collector, costs []costProc, next int) ([]drainRound, int, error) {
	var rounds []drainRound
	for round := 2; round <= o.drainRounds; round++ {
		raw, err := ceiling(ctx, w, o.events, o.rawInFlight, false, &childCPU{})
		if err != nil {
			return nil, next, fmt.Errorf("raw MQTT ceiling, round %d: %w", round, err)
		}
		var costBefore costReading
		drained, _, err := drainAgain(ctx, br, rdb, w, c, next, next+o.events, spread(o.tools), func() { costBefore = readCost(costs) })
		if err != nil {
			return nil, next, fmt.Errorf("pipeline drain, round %d: %w", round, err)
		}
		next += o.events
		r := drainRound{raw: raw, drain: drained}
		fmt.Printf("  round %d: raw ceiling %8.0f msg/s, then the drain %8.0f events/s: %.2f\n", round, raw.rate(), drained.rate(), r.ratio())
		printCost("per event drained", costs, costBefore, readCost(costs), drained.messages)
		rounds = append(rounds, r)
	}
	return rounds, next, nil
}

// roundsText lists each round's ratio, in the order measured.
func roundsText(rounds []drainRound) string {
	var s []string
	for _, r := range rounds {
		s = append(s, fmt.Sprintf("%.2f", r.ratio()))
	}
	return strings.Join(s, " ")
}

// drainAgain stops ingest, writes events from..to-1 (event i for tool
// toolOf(i)) while it is stopped, calls atStart, restarts ingest, which
// resumes its consumer group, and waits until the subscriber has them all:
// a drain timed from ingest's start, as phase 2's. It returns the drain and
// when ingest started.
func drainAgain(ctx context.Context, br *bridge, rdb *redis.Client, w workload, c *collector, from, to int, toolOf func(int) int, atStart func()) (result, time.Time, error) {
	c.reset()
	if err := br.ingest.Stop(); err != nil {
		return result{}, time.Time{}, fmt.Errorf("stop ingest: %w", err)
	}
	if err := writeEvents(ctx, rdb, w, from, to, toolOf); err != nil {
		return result{}, time.Time{}, err
	}
	atStart()
	startedAt := time.Now()
	if err := br.ingest.Start(); err != nil {
		return result{}, startedAt, err
	}
	last, got, err := settle(c, to-from, 60*time.Second, w.qos)
	if err != nil {
		return result{}, startedAt, err
	}
	return result{messages: got, took: last.Sub(startedAt)}, startedAt, nil
}
