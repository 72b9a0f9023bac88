package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/envelope"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
)

const deadStream = "test:dead"

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// ackCall is one call of fakeSource.Ack, with what the test's hook saw at
// that moment.
type ackCall struct {
	ids  []string
	err  error
	seen any
}

// fakeSource hands out the entries queued with give and records every Ack;
// the first failAcks calls of Ack fail as Redis would while it is away.
type fakeSource struct {
	mu       sync.Mutex
	queue    []source.Entry
	maxes    []int // the max of each Read
	failAcks int
	calls    []ackCall
	acked    chan []string // each successful Ack's ids
	// atAck, if set, runs at each Ack call; what it returns is recorded.
	atAck func(entries []source.Entry) any
}

func newFakeSource() *fakeSource { return &fakeSource{acked: make(chan []string, 64)} }

func (f *fakeSource) Name() string { return records.InputName(f.Input()) }

func (f *fakeSource) Input() *statusv1.Input { return records.StreamInput("fake") }

func (f *fakeSource) give(entries ...source.Entry) {
	f.mu.Lock()
	f.queue = append(f.queue, entries...)
	f.mu.Unlock()
}

// Read returns what is queued, up to max, or waits briefly and returns
// nothing, as a real source does when Redis has nothing new.
func (f *fakeSource) Read(ctx context.Context, max int) ([]source.Entry, error) {
	f.mu.Lock()
	f.maxes = append(f.maxes, max)
	n := min(max, len(f.queue))
	out := slices.Clone(f.queue[:n])
	f.queue = f.queue[n:]
	f.mu.Unlock()
	if len(out) == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	return out, nil
}

func (f *fakeSource) Ack(ctx context.Context, entries []source.Entry) error {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	var seen any
	if f.atAck != nil {
		seen = f.atAck(entries)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	if f.failAcks > 0 {
		f.failAcks--
		err = errors.New("fake Redis is away")
	}
	f.calls = append(f.calls, ackCall{ids: ids, err: err, seen: seen})
	if err == nil {
		f.acked <- ids
	}
	return err
}

func (f *fakeSource) ackCalls() []ackCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeSource) readMaxes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.maxes)
}

// nextAck waits for the next successful Ack and returns its ids.
func (f *fakeSource) nextAck(t *testing.T) []string {
	t.Helper()
	select {
	case ids := <-f.acked:
		return ids
	case <-time.After(waitLimit):
		t.Fatal("no entries were acknowledged")
		return nil
	}
}

// routerStream is the router's end of one stream: it hands what ingest
// sends to the test and answers what the test says.
type routerStream struct {
	ctx     context.Context
	sent    chan *bridgev1.Event
	answers chan []*bridgev1.EventAck
}

func (s *routerStream) Send(events []*bridgev1.Event) error {
	for _, ev := range events {
		select {
		case s.sent <- ev:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
	return nil
}

func (s *routerStream) Recv() ([]*bridgev1.EventAck, error) {
	select {
	case a := <-s.answers:
		return a, nil
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
}

// fakeRouter is the next hop: every stream dialled shares its channels.
type fakeRouter struct {
	sent    chan *bridgev1.Event
	answers chan []*bridgev1.EventAck
}

func (r *fakeRouter) dial(ctx context.Context) (relay.Stream[*bridgev1.Event, *bridgev1.EventAck], error) {
	return &routerStream{ctx: ctx, sent: r.sent, answers: r.answers}, nil
}

// next returns the next event the router received.
func (r *fakeRouter) next(t *testing.T) *bridgev1.Event {
	t.Helper()
	select {
	case ev := <-r.sent:
		return ev
	case <-time.After(waitLimit):
		t.Fatal("the router received nothing")
		return nil
	}
}

func (r *fakeRouter) answer(id string, outcome bridgev1.Outcome) {
	r.answers <- []*bridgev1.EventAck{{EventId: id, Outcome: outcome}}
}

// harness is a pipeline wired to fakes: a fakeSource, a fakeRouter behind
// a real relay.Link, and a throwaway Redis for the dead letters and the
// totals.
type harness struct {
	p      *pipeline
	src    *fakeSource
	router *fakeRouter
	rdb    *redis.Client
	// reg holds the pipeline's metrics.
	reg *prometheus.Registry
}

func newHarness(t *testing.T, windowSize int) *harness {
	t.Helper()
	rdb := redistest.Start(t)
	h := &harness{
		src:    newFakeSource(),
		router: &fakeRouter{sent: make(chan *bridgev1.Event, 64), answers: make(chan []*bridgev1.EventAck, 64)},
		rdb:    rdb,
		reg:    prometheus.NewRegistry(),
	}
	p := &pipeline{
		log:     discard,
		src:     h.src,
		limits:  envelope.Limits{MaxPayloadBytes: 1024},
		batch:   16,
		window:  newWindow(windowSize, 0),
		settled: make(chan settled, windowSize),
		health:  &healthState{report: func(bool) {}, redis: true},
		dead:    &deadLetters{rdb: rdb, stream: deadStream, maxLen: 1000, input: h.src.Input()},
		totals:  totals{rdb: rdb},
	}
	p.metrics = newMetrics(h.reg, func() float64 { return float64(p.window.len()) })
	p.link = relay.NewLink(relay.LinkConfig[*bridgev1.Event, *bridgev1.EventAck]{
		Name:        "fake router",
		Dial:        h.router.dial,
		ItemID:      (*bridgev1.Event).GetId,
		ResultID:    (*bridgev1.EventAck).GetEventId,
		OnResult:    p.answered,
		MaxBatch:    16,
		Log:         discard,
		OnConnected: p.health.setRouter,
	})
	h.p = p
	return h
}

// start runs the link and the acknowledging loop until the test ends.
func (h *harness) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = h.p.link.Run(ctx) }()
	go func() { defer wg.Done(); h.p.acknowledge(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// startReading runs the link, the acknowledging loop and the read loop
// until the test ends.
func (h *harness) startReading(t *testing.T) {
	t.Helper()
	h.start(t)
	ctx, cancel := context.WithCancel(context.Background())
	readDone := make(chan struct{})
	go func() { defer close(readDone); h.p.read(ctx) }()
	t.Cleanup(func() { cancel(); <-readDone })
}

// deadLetterCount is how many dead letters Redis holds now.
func (h *harness) deadLetterCount() int64 {
	n, err := h.rdb.XLen(context.Background(), deadStream).Result()
	if err != nil {
		return -1
	}
	return n
}

// redisFailed says whether the pipeline has seen Redis refuse something.
func (h *harness) redisFailed() bool {
	h.p.health.mu.Lock()
	defer h.p.health.mu.Unlock()
	return !h.p.health.redis
}

// deadLetterHolds says whether some dead letter carries the entry as Redis
// held it, whatever the field is called.
func (h *harness) deadLetterHolds(t *testing.T, original string) bool {
	t.Helper()
	msgs, err := h.rdb.XRange(context.Background(), deadStream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		for _, v := range m.Values {
			if v == original {
				return true
			}
		}
	}
	return false
}

// parseableEntries returns entries as a real source hands them out, which
// Parse can check: the list source, reading a list in a throwaway Redis.
// (source.Entry's parser is private to package source.)
func parseableEntries(t *testing.T, raws ...string) []source.Entry {
	t.Helper()
	rdb := redistest.Start(t)
	ctx := context.Background()
	for _, raw := range raws {
		if err := rdb.LPush(ctx, "in", raw).Err(); err != nil {
			t.Fatal(err)
		}
	}
	list, err := source.NewList(ctx, redisconn.FromOptions(rdb.Options()), "in", "in:processing", discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { list.Close() })
	var out []source.Entry
	for deadline := time.Now().Add(waitLimit); len(out) < len(raws); {
		if time.Now().After(deadline) {
			t.Fatalf("the list source handed out %d of %d entries", len(out), len(raws))
		}
		got, err := list.Read(ctx, len(raws)-len(out))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

const (
	goodA   = `{"topic":"nemo/tools/1/enabled","payload":{"event":"tool_enabled","tool_id":1},"qos":1}`
	goodB   = `{"topic":"nemo/tools/2/enabled","payload":{"event":"tool_enabled","tool_id":2},"qos":1}`
	goodC   = `{"topic":"nemo/tools/3/enabled","payload":{"event":"tool_enabled","tool_id":3},"qos":1}`
	notJSON = `this is not JSON`
)

// eventually polls cond until it holds, failing the test after waitLimit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(waitLimit); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}
