package ingest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
)

// samples is how many observations the histogram name (with the label
// stage, if given) holds in reg.
func samples(t *testing.T, reg *prometheus.Registry, name, stage string) uint64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := stage == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "stage" && l.GetValue() == stage {
					match = true
				}
			}
			if match {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

// An event read from a stream and routed is observed once in each hop of
// ingest: its age when read, queue, router and ack.
func TestLatencyHistogramsObserveARoutedEvent(t *testing.T) {
	h := newHarness(t, 8)
	h.start(t)
	ctx := context.Background()
	if err := h.rdb.XAdd(ctx, &redis.XAddArgs{Stream: "in", Values: []any{"event", goodA}}).Err(); err != nil {
		t.Fatal(err)
	}
	stream, err := source.NewStream(ctx, redisconn.FromOptions(h.rdb.Options()), source.StreamConfig{Stream: "in", Group: "g", Consumer: "c", GroupStart: "0", ClaimIdle: time.Hour}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Close() })
	var entries []source.Entry
	eventually(t, "the stream hands out the entry", func() bool {
		got, err := stream.Read(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, got...)
		return len(entries) == 1
	})

	h.p.forward(entries)
	ev := h.router.next(t)
	h.router.answer(ev.GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	h.src.nextAck(t)

	if n := samples(t, h.reg, "nemo_ingest_entry_age_seconds", ""); n != 1 {
		t.Errorf("entry age: %d observations, want 1", n)
	}
	for _, stage := range []string{"queue", "router", "ack"} {
		eventually(t, "one observation of stage "+stage, func() bool { return samples(t, h.reg, "nemo_ingest_stage_seconds", stage) == 1 })
	}
}

// An entry of the list has no time in its id: its age is not observed,
// and its stages are.
func TestEntryAgeSkipsIDsWithoutTime(t *testing.T) {
	h := newHarness(t, 8)
	h.start(t)
	good := parseableEntries(t, goodB)[0]

	h.p.forward([]source.Entry{good})
	h.router.answer(h.router.next(t).GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	h.src.nextAck(t)

	eventually(t, "one observation of stage ack", func() bool { return samples(t, h.reg, "nemo_ingest_stage_seconds", "ack") == 1 })
	if n := samples(t, h.reg, "nemo_ingest_entry_age_seconds", ""); n != 0 {
		t.Errorf("entry age: %d observations of a list entry, want 0", n)
	}
}

// carrier is a fakeSource whose acknowledgement carries commands, run in
// a real Redis, as the stream's and the list's do.
type carrier struct {
	*fakeSource
	rdb   *redis.Client
	mu    sync.Mutex
	alsos []bool // whether each call carried something
}

func (c *carrier) AckCarrying(ctx context.Context, entries []source.Entry, also func(redis.Pipeliner)) error {
	c.mu.Lock()
	c.alsos = append(c.alsos, also != nil)
	c.mu.Unlock()
	if also != nil {
		pipe := c.rdb.Pipeline()
		also(pipe)
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
	}
	return c.Ack(ctx, entries)
}

// The running total rides on the acknowledgement, on its first attempt
// only: a retry after a lost reply would add the batch twice. It costs
// no round trip of its own.
func TestRunningTotalRidesOnTheFirstAcknowledgementOnly(t *testing.T) {
	h := newHarness(t, 8)
	c := &carrier{fakeSource: h.src, rdb: h.rdb}
	h.p.src = c
	h.src.failAcks = 1
	h.start(t)
	good := parseableEntries(t, goodC)[0]

	h.p.forward([]source.Entry{good})
	h.router.answer(h.router.next(t).GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	h.src.nextAck(t)

	eventually(t, "the entry leaves the window", func() bool { return !h.p.window.has(good.ID) })
	c.mu.Lock()
	alsos := slices.Clone(c.alsos)
	c.mu.Unlock()
	if !slices.Equal(alsos, []bool{true, false}) {
		t.Errorf("the acknowledgements carried %v; want the total on the first of the two only", alsos)
	}
	if n, _ := h.rdb.HGet(context.Background(), records.Counters, records.CounterEventsIn).Int(); n != 1 {
		t.Errorf("running total %d, want 1", n)
	}
}
