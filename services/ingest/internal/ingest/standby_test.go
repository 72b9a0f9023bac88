package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/lease"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// Ingest's lease names the input: the same configuration, the same key;
// another consumer, list or channel, another key. A list and a channel
// of one name are different inputs.
func TestLeaseKeyNamesTheInput(t *testing.T) {
	o := Options{Mode: "stream", List: records.InputList, Channel: records.InputChannel, Window: 1, BatchSize: 1, RouterAddr: "localhost:7002", RouterFailover: time.Second}
	o.Stream.Stream, o.Stream.Group = records.InputStream, "nemo-bridge"
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	if o.Stream.Consumer != "nemo-bridge" {
		t.Fatalf("default consumer %q, want the group's name", o.Stream.Consumer)
	}
	if got, want := o.leaseKey(), "nemo:bridge:lease:ingest:stream:nemo:events:nemo-bridge:nemo-bridge"; got != want {
		t.Fatalf("stream lease %q, want %q", got, want)
	}
	other := o
	other.Stream.Consumer = "ingest-0"
	if other.leaseKey() == o.leaseKey() {
		t.Fatal("two consumers share a lease")
	}
	list, pubsub := o, o
	list.Mode, pubsub.Mode = "list", "pubsub"
	if got, want := list.leaseKey(), "nemo:bridge:lease:ingest:list:nemo_mqtt_events"; got != want {
		t.Fatalf("list lease %q, want %q", got, want)
	}
	if got, want := pubsub.leaseKey(), "nemo:bridge:lease:ingest:pubsub:nemo_mqtt_events"; got != want {
		t.Fatalf("pubsub lease %q, want %q", got, want)
	}
	// Two sites' inputs of one name, each in its own Redis, keep their
	// leases apart in the bridge's Redis.
	north := o
	north.Site = "north"
	if got, want := north.leaseKey(), "nemo:bridge:lease:ingest:site:north:stream:nemo:events:nemo-bridge:nemo-bridge"; got != want {
		t.Fatalf("a site's stream lease %q, want %q", got, want)
	}
	if !records.SameSlot(o.leaseKey(), lease.Fence(o.leaseKey())) {
		t.Fatal("the fence is not in the lease's hash slot")
	}
	for _, ttl := range []time.Duration{time.Second, -time.Second} {
		bad := o
		bad.LeaseTTL = ttl
		if bad.validate() == nil {
			t.Errorf("-lease-ttl %s accepted", ttl)
		}
	}
}

// Once the lease is lost, run returns at once without the drain, nothing
// more is acknowledged (an answer that comes late included), and nothing
// is left in flight or pending in the link for the next term to resend.
func TestRunAbandonsWhatIsInFlightWhenTheLeaseIsLost(t *testing.T) {
	h := newHarness(t, 8)
	h.src.give(parseableEntries(t, goodA, goodB)...)
	ctx, lose := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.p.run(ctx, time.Minute) }()

	a, b := h.router.next(t), h.router.next(t)
	lose(lease.ErrLost)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("run waited for the drain after the lease was lost")
	}
	h.router.answer(a.GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	h.router.answer(b.GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	time.Sleep(settleTime)
	if calls := h.src.ackCalls(); len(calls) != 0 {
		t.Fatalf("acknowledged %v after the lease was lost", calls)
	}
	if n, pending := h.p.window.len(), h.p.link.Pending(); n != 0 || pending != 0 {
		t.Fatalf("%d entries in the window and %d in the link after the loss, want none", n, pending)
	}
}

// No read starts while the lease has less than a read's wait left.
func TestReadWaitsForTheLease(t *testing.T) {
	h := newHarness(t, 8)
	var mu sync.Mutex
	allowed := false
	h.p.mayRead = func() bool { mu.Lock(); defer mu.Unlock(); return allowed }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.p.read(ctx)
	time.Sleep(settleTime)
	if n := len(h.src.readMaxes()); n != 0 {
		t.Fatalf("%d reads while the lease did not allow one", n)
	}
	mu.Lock()
	allowed = true
	mu.Unlock()
	eventually(t, "a read once the lease allows it", func() bool { return len(h.src.readMaxes()) > 0 })
}

// Two ingests with one lease: one reads, the other stands by (not ready,
// nemo_ingest_active 0, never reading). When the active one can no longer
// reach Redis, it stops reading before the standby starts, and stands by
// itself.
func TestOneIngestReadsTheOtherStandsBy(t *testing.T) {
	rdb := redistest.Start(t)
	const key, ttl = "nemo:bridge:lease:ingest:test", 2 * time.Second
	type ingest struct {
		active  prometheus.Gauge
		ready   chan bool
		started chan time.Time
		ended   chan time.Time
		done    chan error
	}
	run := func(ctx context.Context, client redis.UniversalClient) *ingest {
		in := &ingest{
			active:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "nemo_ingest_active"}),
			ready:   make(chan bool, 100),
			started: make(chan time.Time, 10),
			ended:   make(chan time.Time, 10),
			done:    make(chan error, 1),
		}
		health := &healthState{report: func(ok bool) { in.ready <- ok }, redis: true, router: true, standby: true}
		held := lease.New(client, key, "ingest", ttl, discard)
		go func() {
			in.done <- leased(ctx, held, discard, in.active, health, nil, func(ctx context.Context) error {
				in.started <- time.Now()
				<-ctx.Done()
				in.ended <- time.Now()
				return nil
			})
		}()
		return in
	}
	clientA := redis.NewClient(&redis.Options{Network: "unix", Addr: rdb.Options().Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := run(ctx, clientA)
	select {
	case <-a.started:
	case <-time.After(waitLimit):
		t.Fatal("the first ingest did not start reading")
	}
	b := run(ctx, rdb)
	time.Sleep(ttl)
	select {
	case <-b.started:
		t.Fatal("the second ingest reads while the first holds the lease")
	default:
	}
	if got := testutil.ToFloat64(b.active); got != 0 {
		t.Fatalf("the standby's nemo_ingest_active is %v", got)
	}
	if got := testutil.ToFloat64(a.active); got != 1 {
		t.Fatalf("the active one's nemo_ingest_active is %v", got)
	}
	if lastReady(b.ready) {
		t.Fatal("the standby says it is ready")
	}

	clientA.Close() // the active one can no longer reach Redis
	var endedA, startedB time.Time
	select {
	case endedA = <-a.ended:
	case <-time.After(2 * ttl):
		t.Fatal("the first ingest kept reading without its lease")
	}
	select {
	case startedB = <-b.started:
	case <-time.After(2 * ttl):
		t.Fatal("the standby did not take over")
	}
	if !startedB.After(endedA) {
		t.Fatalf("the standby started reading %s before the first one stopped", endedA.Sub(startedB))
	}
	if got := testutil.ToFloat64(a.active); got != 0 {
		t.Fatalf("the old holder's nemo_ingest_active is %v", got)
	}
	if lastReady(a.ready) {
		t.Fatal("the old holder says it is ready")
	}
	select {
	case err := <-a.done:
		t.Fatalf("the old holder returned (%v) instead of standing by", err)
	default:
	}
	cancel()
	for _, in := range []*ingest{a, b} {
		select {
		case err := <-in.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
		case <-time.After(waitLimit):
			t.Fatal("an ingest did not stop")
		}
	}
	if n := rdb.Exists(context.Background(), key).Val(); n != 0 {
		t.Fatal("the lease was not released at the clean stop")
	}
}

// lastReady is the last readiness reported on ch, false if none.
func lastReady(ch chan bool) bool {
	last := false
	for {
		select {
		case r := <-ch:
			last = r
		default:
			return last
		}
	}
}

// lateSource's first Read returns its entries only once ctx has ended, as
// a blocking read whose reply comes after the lease was lost.
type lateSource struct {
	*fakeSource
	late []source.Entry
}

func (s *lateSource) Read(ctx context.Context, max int) ([]source.Entry, error) {
	<-ctx.Done()
	late := s.late
	s.late = nil
	return late, nil
}

// What a read that began while the lease was held returns after it was
// lost goes neither to the router nor into the window: it stays pending
// in Redis for the next holder.
func TestAReadAnsweredAfterTheLossIsNotForwarded(t *testing.T) {
	h := newHarness(t, 8)
	h.p.src = &lateSource{fakeSource: h.src, late: parseableEntries(t, goodA)}
	ctx, lose := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.p.run(ctx, time.Minute) }()
	time.Sleep(settleTime)
	lose(lease.ErrLost)
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("run did not return after the lease was lost")
	}
	select {
	case ev := <-h.router.sent:
		t.Fatalf("event %s went to the router after the lease was lost", ev.GetId())
	case <-time.After(settleTime):
	}
	if n := metricValue(t, h, "nemo_ingest_events_read_total"); n != 0 {
		t.Fatalf("%v entries counted as read after the loss", n)
	}
}

func metricValue(t *testing.T, h *harness, name string) float64 {
	t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) > 0 {
			m := f.GetMetric()[0]
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return 0
}

// The next holder closes the connections an earlier one read through, and
// only those: a read still on its way on one of them never runs.
func TestCloseEarlierReadersClosesOnlyTheReaders(t *testing.T) {
	rdb := redistest.Start(t)
	ctx := context.Background()
	cfg := redisconn.FromOptions(rdb.Options())
	o := Options{Mode: "list", List: "in"}
	reader := cfg.WithName(o.readerName()).NoRetryClient()
	defer reader.Close()
	other := cfg.WithName("ingest").NoRetryClient()
	defer other.Close()
	readerID, err := reader.ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	otherID, err := other.ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	n, err := closeEarlierReaders(ctx, rdb, o.readerName())
	if err != nil || n != 1 {
		t.Fatalf("closed %d connections (%v), want the reader's one", n, err)
	}
	list := rdb.ClientList(ctx).Val()
	if strings.Contains(list, fmt.Sprintf("id=%d ", readerID)) {
		t.Fatalf("the earlier reader's connection is still open:\n%s", list)
	}
	if !strings.Contains(list, fmt.Sprintf("id=%d ", otherID)) {
		t.Fatalf("another connection of ingest was closed:\n%s", list)
	}
	if n, err := closeEarlierReaders(ctx, rdb, o.readerName()); err != nil || n != 0 {
		t.Fatalf("a second pass closed %d (%v), want none", n, err)
	}
}
