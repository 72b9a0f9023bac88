package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/rules"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/toolstate"
)

// server answers ingest's Route streams.
type server struct {
	routerv1.UnimplementedRouterServiceServer
	rules    *rulebook
	tracker  *tracker
	link     *shards
	metrics  *metrics
	stopping context.Context
	log      *slog.Logger
	// state and recent are nil when the router has no Redis.
	state  *stateKeeper
	recent *recentLog
}

// Route routes every event of the stream and answers for each once it is
// settled. On shutdown the stream ends at once: ingest resends what was not
// answered to the next router, so nothing in flight is lost.
func (s *server) Route(stream routerv1.RouterService_RouteServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	defer context.AfterFunc(s.stopping, cancel)()

	replies := relay.NewReplies[*bridgev1.EventAck](ctx, 4096, 512)
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		_ = replies.Run(func(acks []*bridgev1.EventAck) error {
			return stream.Send(&routerv1.RouteResponse{Acks: acks})
		})
		cancel()
	}()
	// A blocked stream.Recv does not see ctx, only the stream's own
	// context, which ends when this handler returns; so return on ctx.
	recvDone := make(chan error, 1)
	go func() { recvDone <- s.receive(ctx, stream, replies) }()
	var err error
	select {
	case err = <-recvDone:
	case <-ctx.Done():
	}
	cancel()
	<-sendDone
	if errors.Is(err, io.EOF) || ctx.Err() != nil {
		return nil
	}
	return err
}

// maxMerged bounds the events routed together (see receive): about
// ingest's default window, so that a backlog's batches merge whole.
const maxMerged = 4096

// receive reads the stream on its own goroutine and routes what it read
// here. The batches that arrived while the one before was being routed go
// through route together: under load, each tool's state is then saved,
// and its snapshot published, once for all of them instead of once per
// batch. Nothing waits for more: an idle router routes each batch as it
// comes.
func (s *server) receive(ctx context.Context, stream routerv1.RouterService_RouteServer, replies *relay.Replies[*bridgev1.EventAck]) error {
	from := "unknown"
	if p, ok := peer.FromContext(stream.Context()); ok {
		from = p.Addr.String()
	}
	batches := make(chan []*bridgev1.Event, 16)
	var recvErr error // set before batches is closed
	go func() {
		defer close(batches)
		for {
			req, err := stream.Recv()
			if err != nil {
				recvErr = err
				return
			}
			relay.ObserveTransit(s.metrics.transit, req.GetSentAt(), len(req.GetEvents()))
			select {
			case batches <- req.GetEvents():
			case <-ctx.Done():
				recvErr = ctx.Err()
				return
			}
		}
	}()
	for {
		evs, ok := <-batches
		if !ok {
			return recvErr
		}
	merge:
		for len(evs) < maxMerged {
			select {
			case more, ok := <-batches:
				if !ok {
					break merge // routed below; the next receive returns recvErr
				}
				evs = append(evs, more...)
			default:
				break merge
			}
		}
		if err := s.route(ctx, evs, from, replies.Put); err != nil {
			return err
		}
	}
}

// route routes one batch of events, in order: it screens their sequences,
// folds them into the tool state, applies the rules and hands the
// messages to the publisher. put answers an event; those with messages
// are answered once the publisher settled them (see settled).
//
// When the rules read no tool state (the built-in rules read none), the
// events' messages go to the publisher before the state is saved in
// Redis, so that an event does not wait for that round trip on its way
// to subscribers; only each tool's snapshot waits for the save, as it
// must not run ahead of what Redis holds. A tool's messages still leave
// in order: its events' messages, then its snapshot, then the next
// batch's. The events are answered only once their snapshots settled too.
func (s *server) route(ctx context.Context, batch []*bridgev1.Event, from string, put func(*bridgev1.EventAck)) error {
	received := time.Now()
	for _, ev := range batch {
		payload.Decode(ev) // ingest read its facts; its fields come as spans (an older ingest's whole)
	}
	events, refused, err := s.state.screen(ctx, batch)
	if err != nil {
		return err
	}
	for _, ack := range refused {
		// Ingest sends only what it read from Redis: the one sending
		// this is worth finding.
		s.log.Warn("event refused: its sequence cannot come from Redis", "event_id", ack.GetEventId(), "peer", from, "reason", ack.GetReason())
		s.metrics.events.WithLabelValues("rejected").Inc()
		put(ack)
	}
	// One version of the rules for the whole batch, even if a reload
	// lands in the middle of it.
	set := s.rules.current()
	var ruled []ruling
	ahead := s.state != nil && !set.ReadsState()
	if ahead {
		ruled = s.rule(set, events, nil)
		aheadStamp := &submitStamp{}
		var out []*bridgev1.Message
		for i := range ruled {
			ruled[i].held = s.tracker.hold(ruled[i].ack, ruled[i].msgs, put, aheadStamp)
			out = append(out, ruled[i].msgs...)
		}
		s.hand(out, aheadStamp, received, len(batch))
	}
	states, err := s.state.apply(ctx, events)
	if err != nil {
		return err
	}
	if !ahead {
		ruled = s.rule(set, events, states)
	}
	final := lastStatePerTool(states)
	stamp := &submitStamp{}
	var out []*bridgev1.Message
	for i, ev := range events {
		r := ruled[i]
		msgs := r.msgs
		if r.held != nil {
			msgs = nil // handed on already
		}
		if final[i] {
			// The state is saved already, so its snapshot goes out
			// whatever became of the event's own messages: else the
			// retained status would stay behind what Redis holds. A
			// refused event is answered once its snapshot is settled,
			// so that a router stopped before then sees it again.
			snap, err := set.SnapshotDoc(states[i], s.state.doc(states[i]), ev)
			if err != nil {
				return err
			}
			msgs = append(msgs, snap)
		}
		out = append(out, msgs...)
		if r.held != nil {
			if ack, reply, submitted, sent := s.tracker.release(r.held, msgs); ack != nil {
				s.answer(ack, reply, submitted, sent)
			}
			continue
		}
		if len(msgs) > 0 {
			s.tracker.track(r.ack, msgs, put, stamp)
			continue
		}
		s.answer(r.ack, put, time.Time{}, false)
	}
	routed := len(batch) // the events whose route stage ends here
	if ahead {
		routed = 0 // it ended when their own messages went
	}
	s.hand(out, stamp, received, routed)
	return nil
}

// ruling is what the rules made of one event: its answer so far and its
// messages, and, once these went to the publisher ahead of the state
// save, what the tracker holds of it.
type ruling struct {
	ack  *bridgev1.EventAck
	msgs []*bridgev1.Message
	held *eventState
}

// rule applies the rules to each event, with the state of its tool after
// it: states[i], or the state as it stands when the event changed none (an
// older one delivered again). Without states the rules are given none,
// which only rules that read none may be.
func (s *server) rule(set *rules.Set, events []*bridgev1.Event, states []*statusv1.Tool) []ruling {
	out := make([]ruling, len(events))
	for i, ev := range events {
		var state *statusv1.Tool
		if states != nil {
			if state = states[i]; state == nil {
				state = s.state.current(ev)
			}
		}
		out[i].ack = &bridgev1.EventAck{EventId: ev.GetId(), Outcome: bridgev1.Outcome_OUTCOME_DELIVERED}
		msgs, _, err := set.Apply(ev, state)
		if err != nil {
			a := out[i].ack
			a.Outcome, a.Cause, a.Reason = bridgev1.Outcome_OUTCOME_REJECTED, rules.Cause(err), err.Error()
			continue
		}
		out[i].msgs = msgs
	}
	return out
}

// hand gives msgs to the publisher link, stamped with when they went. The
// route stage of n events received at received ends here (none when n is
// 0: their messages went before).
func (s *server) hand(msgs []*bridgev1.Message, stamp *submitStamp, received time.Time, n int) {
	submitted := time.Now()
	s.tracker.submitted(stamp, submitted)
	routing := submitted.Sub(received).Seconds()
	for range n {
		s.metrics.route.Observe(routing)
	}
	s.metrics.messages.Add(float64(len(msgs)))
	s.link.Submit(msgs)
}

// settled is called by the link with the broker's answer for a message.
func (s *server) settled(m *bridgev1.Message, r *publisherv1.PublishResult) {
	// A replaced snapshot never reached the broker: the feed and the
	// running total of messages out leave it out.
	if s.recent != nil && r.GetOutcome() == bridgev1.Outcome_OUTCOME_DELIVERED && !r.GetReplaced() {
		s.recent.record(m)
	}
	if ack, reply, submitted := s.tracker.settle(m, r); ack != nil {
		s.answer(ack, reply, submitted, true)
	}
}

// answer gives an event's answer, counted by what became of it: sent says
// whether it had messages (handed to the publisher at submitted); an event
// that had none was filtered out, unless it was refused.
func (s *server) answer(ack *bridgev1.EventAck, reply func(*bridgev1.EventAck), submitted time.Time, sent bool) {
	switch {
	case ack.GetOutcome() == bridgev1.Outcome_OUTCOME_REJECTED:
		s.metrics.events.WithLabelValues("rejected").Inc()
	case !sent:
		s.metrics.events.WithLabelValues("filtered").Inc()
		ack.Outcome = bridgev1.Outcome_OUTCOME_FILTERED
	default:
		s.metrics.events.WithLabelValues("delivered").Inc()
	}
	if sent {
		s.metrics.publish.Observe(time.Since(submitted).Seconds())
	}
	reply(ack)
}

// lastStatePerTool marks, for each tool, the last event of the batch that
// changed its state: only that event carries a snapshot. The earlier ones
// would be overwritten on the retained topic at once, and skipping them
// nearly halves what a backlog puts on the broker.
func lastStatePerTool(states []*statusv1.Tool) []bool {
	final := make([]bool, len(states))
	seen := map[toolstate.Key]bool{}
	for i := len(states) - 1; i >= 0; i-- {
		if t := states[i]; t != nil {
			key := toolstate.KeyOfTool(t)
			final[i], seen[key] = !seen[key], true
		}
	}
	return final
}

// publishers are the addresses of one shard's publishers. Only one of them
// is active at a time (the others stand by and refuse streams), so each
// new stream goes to the next address after the one that failed. In
// Kubernetes one Service address per shard is enough: readiness does the
// same.
type publishers struct {
	addrs []string
	conns []*grpc.ClientConn
	mu    sync.Mutex
	next  int
}

func dialPublishers(dialPeer func(addr string) (*grpc.ClientConn, error), addrs []string) (*publishers, error) {
	p := &publishers{addrs: addrs}
	for _, addr := range addrs {
		conn, err := dialPeer(addr)
		if err != nil {
			p.close()
			return nil, err
		}
		p.conns = append(p.conns, conn)
	}
	return p, nil
}

func (p *publishers) dial(ctx context.Context) (relay.Stream[*bridgev1.Message, *publisherv1.PublishResult], error) {
	p.mu.Lock()
	conn := p.conns[p.next%len(p.conns)]
	p.next++
	p.mu.Unlock()
	s, err := publisherv1.NewPublisherServiceClient(conn).Publish(ctx)
	if err != nil {
		return nil, err
	}
	return &publishStream{PublisherService_PublishClient: s}, nil
}

func (p *publishers) close() {
	for _, c := range p.conns {
		c.Close()
	}
}
