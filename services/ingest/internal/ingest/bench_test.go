package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/envelope"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
)

// benchEnvelope is event i as test/bench writes it with XADD into the
// field "event": the NEMO plugin's envelope, topic nemo/tools/<n>/enabled,
// the payload a JSON text with tool_id.
func benchEnvelope(i, tool int) string {
	payload, _ := json.Marshal(map[string]any{"tool_id": tool, "seq": i, "sent_ns": time.Now().UnixNano()})
	env, _ := json.Marshal(map[string]any{
		"topic":     fmt.Sprintf("nemo/tools/%d/enabled", tool),
		"payload":   string(payload),
		"qos":       1,
		"retain":    false,
		"timestamp": float64(time.Now().UnixMilli()) / 1000,
	})
	return string(env)
}

// answeringRouter answers every event as delivered at once.
type answeringRouter struct {
	ctx     context.Context
	answers chan []*bridgev1.EventAck
}

func (r *answeringRouter) Send(events []*bridgev1.Event) error {
	acks := make([]*bridgev1.EventAck, len(events))
	for i, ev := range events {
		acks[i] = &bridgev1.EventAck{EventId: ev.GetId(), Outcome: bridgev1.Outcome_OUTCOME_DELIVERED}
	}
	select {
	case r.answers <- acks:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

func (r *answeringRouter) Recv() ([]*bridgev1.EventAck, error) {
	select {
	case a := <-r.answers:
		return a, nil
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	}
}

// BenchmarkIngestForward measures ingest's whole path for one event from
// a real redis-server's stream: XREADGROUP, the window, the check and
// decode, the link to a router that answers at once, XACK and the running
// total. One op is one event; the events are written before the timer
// starts.
func BenchmarkIngestForward(b *testing.B) {
	rdb := redistest.Start(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pipe := rdb.Pipeline()
	for i := range b.N {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: "nemo:events", Values: []any{"event", benchEnvelope(i, i%16)}})
		if pipe.Len() == 1000 || i == b.N-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	src, err := source.NewStream(ctx, redisconn.FromOptions(rdb.Options()), source.StreamConfig{
		Stream: "nemo:events", Group: "bench", Consumer: "bench-1", GroupStart: "0", ClaimIdle: time.Hour,
	}, discard)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	const window = 1024
	p := &pipeline{
		log:     discard,
		src:     src,
		limits:  envelope.Limits{MaxPayloadBytes: 65536},
		batch:   64,
		window:  newWindow(window, 0),
		settled: make(chan settled, window),
		health:  &healthState{report: func(bool) {}},
		dead:    &deadLetters{rdb: rdb, stream: deadStream, maxLen: 1000, input: src.Input()},
		totals:  totals{rdb: rdb},
	}
	p.metrics = newMetrics(prometheus.NewRegistry(), func() float64 { return float64(p.window.len()) })
	router := &answeringRouter{ctx: ctx, answers: make(chan []*bridgev1.EventAck, 64)}
	p.link = relay.NewLink(relay.LinkConfig[*bridgev1.Event, *bridgev1.EventAck]{
		Name:        "bench router",
		Dial:        func(context.Context) (relay.Stream[*bridgev1.Event, *bridgev1.EventAck], error) { return router, nil },
		ItemID:      (*bridgev1.Event).GetId,
		ResultID:    (*bridgev1.EventAck).GetEventId,
		OnResult:    p.answered,
		MaxBatch:    64,
		Log:         discard,
		OnConnected: p.health.setRouter,
	})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); _ = p.link.Run(ctx) }()
	go func() { defer wg.Done(); p.acknowledge(ctx) }()
	acked := p.metrics.acked.WithLabelValues("delivered")
	b.ReportAllocs()
	b.ResetTimer()
	readCtx, stopReading := context.WithCancel(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); p.read(readCtx) }()
	for int(testutil.ToFloat64(acked)) < b.N {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	stopReading()
}
