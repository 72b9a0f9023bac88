package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/shardhash"
)

// eventLink is the link to one router.
type eventLink = relay.Link[*bridgev1.Event, *bridgev1.EventAck]

type eventStream = relay.Stream[*bridgev1.Event, *bridgev1.EventAck]

// routerLink is what the pipeline hands its events to: the one router's
// link, or routers spreading tools over several.
type routerLink interface {
	Submit(events []*bridgev1.Event)
	Run(ctx context.Context) error
	// Abandon forgets what is in flight, once the ingest lease is lost
	// (see pipeline.abandon); call it only while Run is not running.
	Abandon() int
	// Pending is the number of events sent and not yet answered.
	Pending() int
}

// parseRouterAddrs reads -router-addr: one address, or several separated
// by commas.
func parseRouterAddrs(flagValue string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, a := range strings.Split(flagValue, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return nil, fmt.Errorf("-router-addr %q: an empty address; give addr[,addr...]", flagValue)
		}
		if seen[a] {
			return nil, fmt.Errorf("-router-addr %q: %s is given twice", flagValue, a)
		}
		seen[a] = true
		out = append(out, a)
	}
	return out, nil
}

// routerMetrics are the metrics of ingest's links to the routers.
type routerMetrics struct {
	connected *prometheus.GaugeVec
	repins    prometheus.Counter
}

func newRouterMetrics(reg prometheus.Registerer) *routerMetrics {
	m := &routerMetrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nemo_ingest_router_connected",
			Help: "1 while ingest's stream to this router (an address of -router-addr) is open, else 0.",
		}, []string{"router"}),
		repins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nemo_ingest_router_repins_total",
			Help: "Tools moved to another router because theirs was gone (its stream closed for longer than -router-failover).",
		}),
	}
	reg.MustRegister(m.connected, m.repins)
	return m
}

// routerDeps are what the links to the routers report to.
type routerDeps struct {
	log      *slog.Logger
	metrics  *routerMetrics
	answered func(*bridgev1.Event, *bridgev1.EventAck)
	// serving reports whether any router stream is open.
	serving  func(bool)
	maxBatch int
	failover time.Duration
	now      func() time.Time // nil: time.Now
}

// dialRouters makes the link to the routers of -router-addr: with one,
// that router's link as ingest always had it; with several, routers. The
// returned function closes the connections.
func dialRouters(dialPeer func(addr string) (*grpc.ClientConn, error), addrs []string, d routerDeps) (routerLink, func(), error) {
	var conns []*grpc.ClientConn
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	dials := make([]relay.Dial[*bridgev1.Event, *bridgev1.EventAck], len(addrs))
	for i, addr := range addrs {
		conn, err := dialPeer(addr)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		conns = append(conns, conn)
		client := routerv1.NewRouterServiceClient(conn)
		dials[i] = func(ctx context.Context) (eventStream, error) {
			s, err := client.Route(ctx)
			if err != nil {
				return nil, err
			}
			return routeStream{s}, nil
		}
	}
	if len(addrs) == 1 {
		gauge := d.metrics.connected.WithLabelValues(addrs[0])
		gauge.Set(0)
		return relay.NewLink(relay.LinkConfig[*bridgev1.Event, *bridgev1.EventAck]{
			Name:     "router " + addrs[0],
			Dial:     dials[0],
			ItemID:   (*bridgev1.Event).GetId,
			ResultID: (*bridgev1.EventAck).GetEventId,
			OnResult: d.answered,
			MaxBatch: d.maxBatch,
			Log:      d.log,
			OnConnected: func(open bool) {
				gauge.Set(bool01(open))
				d.serving(open)
			},
		}), closeAll, nil
	}
	return newRouters(addrs, dials, d), closeAll, nil
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// routers spread tools over several router replicas. Each tool (an
// event's ordering key) is pinned to one router: the first of its
// rendezvous ranking of the addresses (shardhash.Rank) that is not gone.
// A router is gone once no stream to it has been open for longer than
// the failover grace (-router-failover): a restart or a blip within it
// moves nothing. Pins are sticky: a tool moves only when its router is
// gone, to the next router of its ranking that is not; a router that
// comes back gets new tools, and its old ones stay where they went until
// that router is gone in turn.
//
// Why a move keeps each tool's order. Before a tool moves, every event of
// it still in flight to the gone router is withdrawn from that router's
// link (relay.Link.Withdraw) and submitted to the new router first, in
// the order they were read, and events read meanwhile wait behind them
// (submitMu): ingest's side of the move is in order. Downstream:
//   - The gone router holds no stream from ingest and has had none for
//     the whole grace period (a dial that succeeds resets it; a new one is
//     refused while a move is under way), so it receives nothing more of
//     the tool; what it had received it routed at least a grace period
//     before the move.
//   - A router answers an event only once the publisher settled all its
//     messages, so nothing answered is in flight; what was not answered is
//     sent again by the new router, after which the old copies are at
//     worst duplicates (allowed: subscribers drop them by event_id).
//   - Messages the old router handed to a publisher before it went are
//     ahead of the new router's in the publisher's per-key pipeline, which
//     orders one key's messages across streams; those not yet written when
//     the old router's stream ended are dropped there, and come again from
//     the new router. With publisher shards, the new router holds a tool
//     new to it until no other shard holds anything of it (its InFlight
//     barrier), as after any router restart.
//   - The tool's state in Redis is compare-and-set by event sequence, so
//     the new router folds each event in once, whichever router saw it
//     first, and its snapshots never go back in time.
//
// The one case this does not cover is a router alive but cut off from
// ingest for longer than the grace period while it still holds messages
// it could not hand to its publisher (cut off from it too, or held by
// flow control throughout): when it reaches the publisher again they may
// come after the new router's. Keep -router-failover above such outages
// you expect to heal (a router restart, a network blip).
type routers struct {
	addrs    []string
	links    []*eventLink
	log      *slog.Logger
	metrics  *routerMetrics
	failover time.Duration
	now      func() time.Time
	serving  func(bool)
	answered func(*bridgev1.Event, *bridgev1.EventAck)

	// submitMu orders Submit and moves, so that a moving tool's withdrawn
	// events go to its new router before any newer one.
	submitMu sync.Mutex

	mu    sync.Mutex // guards what follows; never held during I/O
	pins  map[string]*pin
	state []routerState
}

// pin is the router a tool's events go to, and how many are in flight.
type pin struct {
	router   int
	inFlight int
}

type routerState struct {
	streams  int       // streams dialled and not yet ended
	closedAt time.Time // when the last one ended, or the start
	open     bool      // a stream is open and its resend done (health)
	moving   bool      // its tools are being moved: no stream may open
	pinned   int       // tools pinned to it
}

func newRouters(addrs []string, dials []relay.Dial[*bridgev1.Event, *bridgev1.EventAck], d routerDeps) *routers {
	r := &routers{
		addrs: addrs, log: d.log, metrics: d.metrics, failover: d.failover,
		now: d.now, serving: d.serving, answered: d.answered,
		pins: map[string]*pin{}, state: make([]routerState, len(addrs)),
	}
	if r.now == nil {
		r.now = time.Now
	}
	start := r.now()
	for i, addr := range addrs {
		r.state[i].closedAt = start
		gauge := d.metrics.connected.WithLabelValues(addr)
		gauge.Set(0)
		r.links = append(r.links, relay.NewLink(relay.LinkConfig[*bridgev1.Event, *bridgev1.EventAck]{
			Name:     "router " + addr,
			Dial:     r.dialer(i, dials[i]),
			ItemID:   (*bridgev1.Event).GetId,
			ResultID: (*bridgev1.EventAck).GetEventId,
			OnResult: r.onResult,
			MaxBatch: d.maxBatch,
			Log:      d.log,
			OnConnected: func(open bool) {
				gauge.Set(bool01(open))
				r.setOpen(i, open)
			},
		}))
	}
	return r
}

var errMoving = errors.New("this router's tools are moving to other routers; the stream opens once they have")

// dialer wraps a router's dial to keep count of its streams: a router
// with a stream dialled is not gone, whatever the state of its resend.
func (r *routers) dialer(i int, dial relay.Dial[*bridgev1.Event, *bridgev1.EventAck]) relay.Dial[*bridgev1.Event, *bridgev1.EventAck] {
	return func(ctx context.Context) (eventStream, error) {
		r.mu.Lock()
		moving := r.state[i].moving
		r.mu.Unlock()
		if moving {
			return nil, errMoving
		}
		s, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.state[i].moving {
			// The move began while this dial was under way: the link
			// ends the stream (ctx) without sending on it.
			return nil, errMoving
		}
		r.state[i].streams++
		context.AfterFunc(ctx, func() {
			r.mu.Lock()
			r.state[i].streams--
			r.state[i].closedAt = r.now()
			r.mu.Unlock()
		})
		return s, nil
	}
}

// setOpen records whether router i's stream is open: ingest is serving
// while any is.
func (r *routers) setOpen(i int, open bool) {
	r.mu.Lock()
	r.state[i].open = open
	anyOpen := false
	for _, s := range r.state {
		anyOpen = anyOpen || s.open
	}
	r.mu.Unlock()
	r.serving(anyOpen)
}

// gone says whether router i is gone at now. Caller holds mu.
func (r *routers) gone(i int, now time.Time) bool {
	s := r.state[i]
	return s.streams == 0 && now.Sub(s.closedAt) > r.failover
}

// choose is the router a tool goes to now: the first of its ranking that
// is not gone, or its first if every router is. Caller holds mu.
func (r *routers) choose(key string, now time.Time) int {
	rank := shardhash.Rank(key, r.addrs)
	for _, i := range rank {
		if !r.gone(i, now) {
			return i
		}
	}
	return rank[0]
}

// Submit hands each event to its tool's router, in order per router.
func (r *routers) Submit(events []*bridgev1.Event) {
	if len(events) == 0 {
		return
	}
	r.submitMu.Lock()
	defer r.submitMu.Unlock()
	parts := make([][]*bridgev1.Event, len(r.links))
	r.mu.Lock()
	now := r.now()
	for _, ev := range events {
		key := ev.GetOrderingKey()
		p := r.pins[key]
		if p == nil {
			p = &pin{router: r.choose(key, now)}
			r.pins[key] = p
			r.state[p.router].pinned++
		}
		p.inFlight++
		parts[p.router] = append(parts[p.router], ev)
	}
	r.mu.Unlock()
	for i, part := range parts {
		if len(part) > 0 {
			r.links[i].Submit(part)
		}
	}
}

// onResult counts the event answered and passes it on. A tool with
// nothing in flight whose pin is what choose would give it now is
// forgotten, so that the pins do not grow with every ordering key ever
// seen (a reservation's, say); pinning it again gives the same router.
func (r *routers) onResult(ev *bridgev1.Event, ack *bridgev1.EventAck) {
	key := ev.GetOrderingKey()
	r.mu.Lock()
	if p := r.pins[key]; p != nil {
		p.inFlight--
		if p.inFlight <= 0 && r.choose(key, r.now()) == p.router {
			delete(r.pins, key)
			r.state[p.router].pinned--
		}
	}
	r.mu.Unlock()
	r.answered(ev, ack)
}

// Pending is the number of events sent to any router and not yet
// answered.
func (r *routers) Pending() int {
	n := 0
	for _, l := range r.links {
		n += l.Pending()
	}
	return n
}

// Abandon forgets every router's pending events and every pin: the next
// holder of the lease reads them again, and this ingest, if it gets the
// lease back, pins its tools afresh.
func (r *routers) Abandon() int {
	r.submitMu.Lock()
	defer r.submitMu.Unlock()
	n := 0
	for _, l := range r.links {
		n += l.Abandon()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.pins)
	for i := range r.state {
		r.state[i].pinned = 0
	}
	return n
}

// Run keeps a stream open to every router, and moves the tools of gone
// ones, until ctx is cancelled.
func (r *routers) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, l := range r.links {
		wg.Go(func() { _ = l.Run(ctx) })
	}
	wg.Go(func() {
		tick := time.NewTicker(max(10*time.Millisecond, min(r.failover/4, 250*time.Millisecond)))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				r.moveFromGone()
			}
		}
	})
	wg.Wait()
	return ctx.Err()
}

// moveFromGone moves the tools of every gone router to the next router
// of their ranking that is not gone, their events in flight first.
func (r *routers) moveFromGone() {
	r.submitMu.Lock()
	defer r.submitMu.Unlock()
	r.mu.Lock()
	now := r.now()
	var gone []int
	live := false
	for i := range r.state {
		if !r.gone(i, now) {
			live = true
		} else if r.state[i].pinned > 0 {
			gone = append(gone, i)
		}
	}
	if !live || len(gone) == 0 {
		r.mu.Unlock() // with no router left, tools wait where they are
		return
	}
	for _, i := range gone {
		r.state[i].moving = true
	}
	r.mu.Unlock()

	for _, i := range gone {
		r.move(i, now)
	}
}

// move moves the tools of gone router i. Caller holds submitMu, so no
// event of them is submitted meanwhile.
func (r *routers) move(i int, now time.Time) {
	// No stream to i is dialled (gone) and none can be (moving): what its
	// link holds, it holds unsent.
	withdrawn := r.links[i].Withdraw(func(*bridgev1.Event) bool { return true })

	r.mu.Lock()
	moved := map[int]int{}
	for key, p := range r.pins {
		if p.router != i {
			continue
		}
		to := r.choose(key, now)
		if to == i { // can only be when every router is gone
			continue
		}
		p.router = to
		r.state[i].pinned--
		r.state[to].pinned++
		moved[to]++
		r.metrics.repins.Inc()
	}
	parts := make([][]*bridgev1.Event, len(r.links))
	var stay []*bridgev1.Event
	for _, ev := range withdrawn {
		to := i
		if p := r.pins[ev.GetOrderingKey()]; p != nil {
			to = p.router
		}
		if to == i {
			stay = append(stay, ev)
			continue
		}
		parts[to] = append(parts[to], ev)
	}
	r.mu.Unlock()

	if len(stay) > 0 {
		r.links[i].Submit(stay) // never: every event's tool is pinned and moved
	}
	for to, part := range parts {
		if len(part) > 0 {
			r.links[to].Submit(part)
		}
	}
	for to, n := range moved {
		r.log.Warn("router gone: its tools go to another router, their events in flight first", "from", r.addrs[i], "to", r.addrs[to], "tools", n, "events", len(parts[to]), "failover", r.failover)
	}

	r.mu.Lock()
	r.state[i].moving = false
	r.mu.Unlock()
}
