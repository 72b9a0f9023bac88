package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/shardhash"
)

// replica is a fake router replica that can be taken down and brought
// back: while down, dialling it fails and its streams are broken.
type replica struct {
	mu      sync.Mutex
	up      bool
	streams []*replicaStream
	got     chan *bridgev1.Event
}

type replicaStream struct {
	ctx     context.Context
	r       *replica
	answers chan []*bridgev1.EventAck
	broken  chan struct{}
	once    sync.Once
}

func newReplica() *replica { return &replica{up: true, got: make(chan *bridgev1.Event, 1000)} }

func (r *replica) dial(ctx context.Context) (relay.Stream[*bridgev1.Event, *bridgev1.EventAck], error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.up {
		return nil, errors.New("connection refused")
	}
	s := &replicaStream{ctx: ctx, r: r, answers: make(chan []*bridgev1.EventAck, 100), broken: make(chan struct{})}
	r.streams = append(r.streams, s)
	return s, nil
}

func (s *replicaStream) Send(events []*bridgev1.Event) error {
	select {
	case <-s.broken:
		return errors.New("stream broken")
	case <-s.ctx.Done():
		return s.ctx.Err()
	default:
	}
	for _, ev := range events {
		s.r.got <- ev
	}
	return nil
}

func (s *replicaStream) Recv() ([]*bridgev1.EventAck, error) {
	select {
	case a := <-s.answers:
		return a, nil
	case <-s.broken:
		return nil, errors.New("stream broken")
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
}

// down breaks every stream and refuses new ones.
func (r *replica) down() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.up = false
	for _, s := range r.streams {
		s.once.Do(func() { close(s.broken) })
	}
	r.streams = nil
}

func (r *replica) back() {
	r.mu.Lock()
	r.up = true
	r.mu.Unlock()
}

// answer answers events on the replica's newest stream.
func (r *replica) answer(t *testing.T, evs ...*bridgev1.Event) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.streams) == 0 {
		t.Fatal("no stream to answer on")
	}
	acks := make([]*bridgev1.EventAck, len(evs))
	for i, ev := range evs {
		acks[i] = &bridgev1.EventAck{EventId: ev.GetId(), Outcome: bridgev1.Outcome_OUTCOME_DELIVERED}
	}
	r.streams[len(r.streams)-1].answers <- acks
}

// receive returns the next n events the replica received.
func (r *replica) receive(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		select {
		case ev := <-r.got:
			ids = append(ids, ev.GetId())
		case <-time.After(waitLimit):
			t.Fatalf("the router received %v, then nothing", ids)
		}
	}
	return ids
}

// nothing checks that the replica receives nothing for a while.
func (r *replica) nothing(t *testing.T) {
	t.Helper()
	select {
	case ev := <-r.got:
		t.Fatalf("the router received %s", ev.GetId())
	case <-time.After(300 * time.Millisecond):
	}
}

// fakeClock is the routers' clock: time passes only when the test says.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const testFailover = time.Minute // of the fake clock

type routersFixture struct {
	r        *routers
	replicas []*replica
	clock    *fakeClock
	reg      *prometheus.Registry
	mu       sync.Mutex
	answered []string
	serving  bool
}

func newRoutersFixture(t *testing.T, n int) *routersFixture {
	t.Helper()
	f := &routersFixture{clock: &fakeClock{now: time.Unix(1_000_000, 0)}, reg: prometheus.NewRegistry()}
	var addrs []string
	var dials []relay.Dial[*bridgev1.Event, *bridgev1.EventAck]
	for i := range n {
		rep := newReplica()
		f.replicas = append(f.replicas, rep)
		addrs = append(addrs, fmt.Sprintf("router-%d:7002", i))
		dials = append(dials, rep.dial)
	}
	f.r = newRouters(addrs, dials, routerDeps{
		log: discard, metrics: newRouterMetrics(f.reg), maxBatch: 16, failover: testFailover, now: f.clock.Now,
		answered: func(ev *bridgev1.Event, _ *bridgev1.EventAck) {
			f.mu.Lock()
			f.answered = append(f.answered, ev.GetId())
			f.mu.Unlock()
		},
		serving: func(ok bool) {
			f.mu.Lock()
			f.serving = ok
			f.mu.Unlock()
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := range n {
		f.waitOpen(t, i, true)
	}
	return f
}

func (f *routersFixture) waitOpen(t *testing.T, i int, open bool) {
	t.Helper()
	eventually(t, fmt.Sprintf("router %d's stream open: %v", i, open), func() bool {
		f.r.mu.Lock()
		defer f.r.mu.Unlock()
		return f.r.state[i].open == open
	})
}

func (f *routersFixture) isServing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.serving
}

func (f *routersFixture) repins() float64 { return testutil.ToFloat64(f.r.metrics.repins) }

// keyRankedFirst finds a tool key whose ranking starts with the given
// routers.
func (f *routersFixture) keyRankedFirst(t *testing.T, from int, want ...int) string {
	t.Helper()
	for i := from; i < from+10_000; i++ {
		key := fmt.Sprintf("tool:%d", i)
		if rank := shardhash.Rank(key, f.r.addrs); slices.Equal(rank[:len(want)], want) {
			return key
		}
	}
	t.Fatalf("no key ranks %v first", want)
	return ""
}

func event(key string, n int) *bridgev1.Event {
	return &bridgev1.Event{Id: fmt.Sprintf("%s#%d", key, n), OrderingKey: key}
}

func ids(evs ...*bridgev1.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.GetId()
	}
	return out
}

// Each tool goes to the first router of its ranking, every time, and the
// tools spread over all of them.
func TestToolsGoToTheFirstRouterOfTheirRanking(t *testing.T) {
	f := newRoutersFixture(t, 3)
	want := map[int][]string{}
	var evs []*bridgev1.Event
	for tool := range 60 {
		key := fmt.Sprintf("tool:%d", tool)
		owner := shardhash.Rank(key, f.r.addrs)[0]
		for n := range 2 {
			ev := event(key, n)
			evs = append(evs, ev)
			want[owner] = append(want[owner], ev.GetId())
		}
	}
	f.r.Submit(evs[:60])
	f.r.Submit(evs[60:])
	for i, rep := range f.replicas {
		if len(want[i]) == 0 {
			t.Fatalf("router %d owns no tool of 60", i)
		}
		if got := rep.receive(t, len(want[i])); !slices.Equal(got, want[i]) {
			t.Fatalf("router %d received %v, want %v", i, got, want[i])
		}
		rep.nothing(t)
	}
	if !f.isServing() {
		t.Fatal("not serving with every router stream open")
	}
}

// Within the failover grace a router's tools wait for it; once it is gone
// they move to the next router of their ranking, their events in flight
// first and in order, then those submitted meanwhile; the other routers'
// tools stay. A router that comes back gets new tools, and the moved ones
// stay where they went.
func TestAGoneRoutersToolsMoveWithTheirEventsInFlightFirst(t *testing.T) {
	f := newRoutersFixture(t, 2)
	a, b := f.replicas[0], f.replicas[1]
	onA := f.keyRankedFirst(t, 0, 0, 1)
	onB := f.keyRankedFirst(t, 0, 1)

	f.r.Submit([]*bridgev1.Event{event(onA, 1), event(onB, 1), event(onA, 2)})
	f.r.Submit([]*bridgev1.Event{event(onA, 3)})
	if got := a.receive(t, 3); !slices.Equal(got, ids(event(onA, 1), event(onA, 2), event(onA, 3))) {
		t.Fatalf("router A received %v", got)
	}
	b.receive(t, 1)
	a.answer(t, event(onA, 1)) // A settles the first, then dies
	eventually(t, "the first event answered", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.answered) == 1 })

	a.down()
	f.waitOpen(t, 0, false)
	if !f.isServing() {
		t.Fatal("not serving while router B's stream is open")
	}
	f.r.Submit([]*bridgev1.Event{event(onA, 4)}) // waits in A's link
	f.clock.advance(testFailover / 2)
	f.r.moveFromGone()
	b.nothing(t)
	if f.repins() != 0 {
		t.Fatal("a tool moved within the failover grace")
	}

	f.clock.advance(testFailover)
	f.r.moveFromGone()
	f.r.Submit([]*bridgev1.Event{event(onA, 5), event(onB, 2)})
	want := ids(event(onA, 2), event(onA, 3), event(onA, 4), event(onA, 5), event(onB, 2))
	if got := b.receive(t, 5); !slices.Equal(got, want) {
		t.Fatalf("router B received %v, want A's unanswered events of the moved tool in order, then the newer ones: %v", got, want)
	}
	if f.repins() != 1 {
		t.Fatalf("%v tools re-pinned, want 1", f.repins())
	}

	a.back()
	f.waitOpen(t, 0, true)
	a.nothing(t) // the withdrawn events are never resent to A
	newOnA := f.keyRankedFirst(t, 1000, 0)
	f.r.Submit([]*bridgev1.Event{event(onA, 6), event(newOnA, 1)})
	if got := b.receive(t, 1); !slices.Equal(got, ids(event(onA, 6))) {
		t.Fatalf("router B received %v: the moved tool must stay there", got)
	}
	if got := a.receive(t, 1); !slices.Equal(got, ids(event(newOnA, 1))) {
		t.Fatalf("router A received %v: a new tool goes to the router back", got)
	}

	b.answer(t, event(onB, 1), event(onA, 2), event(onA, 3), event(onA, 4), event(onA, 5), event(onB, 2), event(onA, 6))
	a.answer(t, event(newOnA, 1))
	eventually(t, "every event answered", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.answered) == 9 })
	f.mu.Lock()
	got := slices.Clone(f.answered)
	f.mu.Unlock()
	slices.Sort(got)
	if got = slices.Compact(got); len(got) != 9 {
		t.Fatalf("answers %v: each event once", got)
	}
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	if p := f.r.pins[onA]; p == nil || p.router != 1 {
		t.Fatalf("the moved tool's pin is %+v with nothing in flight; it stays on router B", p)
	}
	if len(f.r.pins) != 1 {
		t.Fatalf("pins %v: a tool with nothing in flight on its first router is forgotten", f.r.pins)
	}
}

// A router back within the grace keeps its tools: its link resends.
func TestARouterBackWithinTheGraceKeepsItsTools(t *testing.T) {
	f := newRoutersFixture(t, 2)
	a, b := f.replicas[0], f.replicas[1]
	onA := f.keyRankedFirst(t, 0, 0)
	f.r.Submit([]*bridgev1.Event{event(onA, 1)})
	a.receive(t, 1)
	a.down()
	f.waitOpen(t, 0, false)
	f.clock.advance(testFailover / 2)
	a.back()
	f.waitOpen(t, 0, true)
	f.clock.advance(testFailover)
	f.r.moveFromGone()
	if got := a.receive(t, 1); !slices.Equal(got, ids(event(onA, 1))) {
		t.Fatalf("router A received %v after it came back", got)
	}
	b.nothing(t)
	if f.repins() != 0 {
		t.Fatal("a tool moved from a router that came back in time")
	}
}

// With every router gone nothing moves and ingest is not serving; the
// tools of the one still gone move once another is back.
func TestWithNoRouterLeftToolsWaitWhereTheyAre(t *testing.T) {
	f := newRoutersFixture(t, 2)
	a, b := f.replicas[0], f.replicas[1]
	onA := f.keyRankedFirst(t, 0, 0)
	a.down()
	b.down()
	f.waitOpen(t, 0, false)
	f.waitOpen(t, 1, false)
	if f.isServing() {
		t.Fatal("serving with no router stream open")
	}
	f.r.Submit([]*bridgev1.Event{event(onA, 1)})
	f.clock.advance(2 * testFailover)
	f.r.moveFromGone()
	if f.repins() != 0 {
		t.Fatal("a tool moved with no router to go to")
	}
	b.back()
	f.waitOpen(t, 1, true)
	f.r.moveFromGone()
	if got := b.receive(t, 1); !slices.Equal(got, ids(event(onA, 1))) {
		t.Fatalf("router B received %v", got)
	}
	if !f.isServing() {
		t.Fatal("not serving with router B's stream open")
	}
}

// One address keeps ingest's one link to its router, with nothing to
// move.
func TestOneRouterIsOneLink(t *testing.T) {
	dial := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	link, closeAll, err := dialRouters(dial, []string{"127.0.0.1:1"}, routerDeps{log: discard, metrics: newRouterMetrics(prometheus.NewRegistry()), serving: func(bool) {}, failover: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	if _, ok := link.(*eventLink); !ok {
		t.Fatalf("one router: got a %T, want the plain link", link)
	}
	link2, closeAll2, err := dialRouters(dial, []string{"127.0.0.1:1", "127.0.0.1:2"}, routerDeps{log: discard, metrics: newRouterMetrics(prometheus.NewRegistry()), serving: func(bool) {}, failover: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll2()
	if _, ok := link2.(*routers); !ok {
		t.Fatalf("two routers: got a %T", link2)
	}
}

func TestRouterAddrsParse(t *testing.T) {
	got, err := parseRouterAddrs(" a:1, b:2 ,c:3")
	if err != nil || !slices.Equal(got, []string{"a:1", "b:2", "c:3"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "a:1,", "a:1,,b:2", "a:1,a:1"} {
		if _, err := parseRouterAddrs(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
