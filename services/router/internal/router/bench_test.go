package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
)

// benchBatch and benchTools are a backlog as test/bench writes it: event
// i on tool i mod benchTools, read by ingest in batches of benchBatch.
const (
	benchBatch = 64
	benchTools = 16
)

// benchEvent is event i as ingest hands it to the router: the NEMO
// plugin's envelope (topic nemo/tools/<n>/enabled, a JSON payload with
// tool_id), its stream id as id and sequence, its payload decoded.
func benchEvent(ms uint64, i int) *bridgev1.Event {
	tool := i % benchTools
	p, _ := json.Marshal(map[string]any{"event": "tool_enabled", "tool_id": tool, "user_name": "Ann", "seq": i, "sent_ns": time.Now().UnixNano()})
	id := fmt.Sprintf("%d-%d", ms, i)
	ev := &bridgev1.Event{
		Id: id, Sequence: id, Topic: fmt.Sprintf("nemo/tools/%d/enabled", tool),
		Payload: p, Qos: 1, OrderingKey: fmt.Sprintf("tool:%d", tool),
	}
	payload.Decode(ev)
	return ev
}

// BenchmarkRouteBatch measures the router's path for one event, in
// batches of benchBatch: screen and fold into the tool state (a real
// redis-server), the rules, the messages, the tracker, and the answer
// once a publisher that answers at once settled them. One op is one event.
func BenchmarkRouteBatch(b *testing.B) {
	for _, displays := range []bool{false, true} {
		name := "default"
		if displays {
			name = "displays"
		}
		b.Run(name, func(b *testing.B) { benchRoute(b, displays) })
	}
}

func benchRoute(b *testing.B, displays bool) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rdb := redistest.Start(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	book, err := openRulebook("", rulesConfig{displays: displays}, log, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	state := newStateKeeper(rdb, "nemo:events", log)
	go state.open(ctx)
	if err := state.wait(ctx); err != nil {
		b.Fatal(err)
	}
	pub := &benchPublisher{ctx: ctx, results: make(chan []*publisherv1.PublishResult, 64)}
	srv := &server{rules: book, tracker: newTracker(), stopping: ctx, state: state, log: log}
	srv.link = relay.NewLink(relay.LinkConfig[*bridgev1.Message, *publisherv1.PublishResult]{
		Dial: func(context.Context) (relay.Stream[*bridgev1.Message, *publisherv1.PublishResult], error) {
			return pub, nil
		},
		ItemID:   (*bridgev1.Message).GetId,
		ResultID: (*publisherv1.PublishResult).GetMessageId,
		OnResult: srv.settled,
		Log:      log,
	})
	srv.metrics = newMetrics(prometheus.NewRegistry(), func() float64 { return 0 })
	linkDone := make(chan struct{})
	go func() { defer close(linkDone); _ = srv.link.Run(ctx) }()
	defer func() { cancel(); <-linkDone }()
	for !pub.open.Load() { // the stream is open
		time.Sleep(time.Millisecond)
	}

	var answered atomic.Int64
	done := make(chan struct{}, 1)
	var want int64
	put := func(*bridgev1.EventAck) {
		if answered.Add(1) == want {
			done <- struct{}{}
		}
	}
	ms := uint64(time.Now().UnixMilli())
	next := 0
	batch := make([]*bridgev1.Event, 0, benchBatch)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += benchBatch {
		b.StopTimer()
		batch = batch[:0]
		for range min(benchBatch, b.N-n) {
			batch = append(batch, benchEvent(ms, next))
			next++
		}
		want += int64(len(batch))
		b.StartTimer()
		if err := srv.route(ctx, batch, "bench", put); err != nil {
			b.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			b.Fatalf("%d of %d events answered", answered.Load(), want)
		}
	}
}

// benchPublisher answers every message as delivered at once.
type benchPublisher struct {
	ctx     context.Context
	results chan []*publisherv1.PublishResult
	open    atomic.Bool
}

func (p *benchPublisher) Send(msgs []*bridgev1.Message) error {
	rs := make([]*publisherv1.PublishResult, len(msgs))
	for i, m := range msgs {
		rs[i] = &publisherv1.PublishResult{MessageId: m.GetId(), Outcome: bridgev1.Outcome_OUTCOME_DELIVERED}
	}
	select {
	case p.results <- rs:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

func (p *benchPublisher) Recv() ([]*publisherv1.PublishResult, error) {
	p.open.Store(true)
	select {
	case rs := <-p.results:
		return rs, nil
	case <-p.ctx.Done():
		return nil, p.ctx.Err()
	}
}
