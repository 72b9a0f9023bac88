package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

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
	trips := &roundTrips{}
	rdb.AddHook(trips)
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
	srv.link = newShards(nil, nil, relay.NewLink(relay.LinkConfig[*bridgev1.Message, *publisherv1.PublishResult]{
		Dial: func(context.Context) (relay.Stream[*bridgev1.Message, *publisherv1.PublishResult], error) {
			return pub, nil
		},
		ItemID:   (*bridgev1.Message).GetId,
		ResultID: (*publisherv1.PublishResult).GetMessageId,
		OnResult: srv.settled,
		Log:      log,
	}))
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
	trips.reset()
	batches := 0
	for n := 0; n < b.N; n += benchBatch {
		batches++
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
	b.StopTimer()
	// The tool state's compare-and-set: how often it runs, and in how
	// many round trips to Redis.
	evals, evalTrips, all := trips.counts()
	b.ReportMetric(float64(evals)/float64(b.N), "cas/event")
	b.ReportMetric(float64(evals)/float64(batches), "cas/batch")
	b.ReportMetric(float64(evalTrips)/float64(batches), "cas-trips/batch")
	b.ReportMetric(float64(all)/float64(batches), "redis-trips/batch")
}

// roundTrips counts what the router sends Redis: EVALs, the round trips
// carrying them, and all round trips.
type roundTrips struct {
	mu                    sync.Mutex
	evals, evalTrips, all int
}

func (r *roundTrips) reset() {
	r.mu.Lock()
	r.evals, r.evalTrips, r.all = 0, 0, 0
	r.mu.Unlock()
}

func (r *roundTrips) counts() (evals, evalTrips, all int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.evals, r.evalTrips, r.all
}

func (r *roundTrips) record(cmds []redis.Cmder) {
	n := 0
	for _, c := range cmds {
		if name := c.Name(); name == "eval" || name == "evalsha" {
			n++
		}
	}
	r.mu.Lock()
	r.all++
	r.evals += n
	if n > 0 {
		r.evalTrips++
	}
	r.mu.Unlock()
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.record([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.record(cmds)
		return next(ctx, cmds)
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
