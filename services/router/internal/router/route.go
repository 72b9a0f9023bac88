package router

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
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
func (s *server) route(ctx context.Context, batch []*bridgev1.Event, from string, put func(*bridgev1.EventAck)) error {
	received := time.Now()
	stamp := &submitStamp{}
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
	states, err := s.state.apply(ctx, events)
	if err != nil {
		return err
	}
	final := lastStatePerTool(states)
	// One version of the rules for the whole batch, even if a reload
	// lands in the middle of it.
	set := s.rules.current()
	var out []*bridgev1.Message
	for i, ev := range events {
		state := states[i]
		if state == nil {
			// The event changed no state (an older one delivered
			// again): the rules read the state as it stands.
			state = s.state.current(ev)
		}
		ack := &bridgev1.EventAck{EventId: ev.GetId(), Outcome: bridgev1.Outcome_OUTCOME_DELIVERED}
		msgs, _, applyErr := set.Apply(ev, state)
		if applyErr != nil {
			msgs = nil
			ack.Outcome, ack.Cause, ack.Reason = bridgev1.Outcome_OUTCOME_REJECTED, rules.Cause(applyErr), applyErr.Error()
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
		switch {
		case len(msgs) > 0:
			s.tracker.track(ack, msgs, put, stamp)
			out = append(out, msgs...)
		case applyErr != nil:
			s.metrics.events.WithLabelValues("rejected").Inc()
			put(ack)
		default:
			s.metrics.events.WithLabelValues("filtered").Inc()
			ack.Outcome = bridgev1.Outcome_OUTCOME_FILTERED
			put(ack)
		}
	}
	submitted := time.Now()
	s.tracker.submitted(stamp, submitted)
	routing := submitted.Sub(received).Seconds()
	for range batch {
		s.metrics.route.Observe(routing)
	}
	s.metrics.messages.Add(float64(len(out)))
	s.link.Submit(out)
	return nil
}

// settled is called by the link with the broker's answer for a message.
func (s *server) settled(m *bridgev1.Message, r *publisherv1.PublishResult) {
	// A replaced snapshot never reached the broker: the feed and the
	// running total of messages out leave it out.
	if s.recent != nil && r.GetOutcome() == bridgev1.Outcome_OUTCOME_DELIVERED && !r.GetReplaced() {
		s.recent.record(m)
	}
	ack, reply, submitted := s.tracker.settle(m, r)
	if ack == nil {
		return
	}
	s.metrics.publish.Observe(time.Since(submitted).Seconds())
	if ack.GetOutcome() == bridgev1.Outcome_OUTCOME_REJECTED {
		s.metrics.events.WithLabelValues("rejected").Inc()
	} else {
		s.metrics.events.WithLabelValues("delivered").Inc()
	}
	reply(ack)
}

// tracker remembers, for every message handed to the publisher, the event it
// came from, and acknowledges the event once all its messages are settled.
type tracker struct {
	mu     sync.Mutex
	nextID uint64
	byMsg  map[string]*eventState
}

type eventState struct {
	// ack is the answer once every message is settled: delivered, unless
	// the event was refused already or the broker refuses a message.
	ack       *bridgev1.EventAck
	remaining int
	reply     func(*bridgev1.EventAck)
	// stamp says when the messages went to the publisher.
	stamp *submitStamp
}

// submitStamp is shared by the events of one Route batch: when their
// messages were handed to the publisher link, for the latency metrics.
// Guarded by the tracker's mutex.
type submitStamp struct {
	at time.Time
}

func newTracker() *tracker { return &tracker{byMsg: map[string]*eventState{}} }

// track gives the messages of one event their ids and remembers them, with
// the event's answer so far.
func (t *tracker) track(ack *bridgev1.EventAck, msgs []*bridgev1.Message, reply func(*bridgev1.EventAck), stamp *submitStamp) {
	st := &eventState{ack: ack, remaining: len(msgs), reply: reply, stamp: stamp}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range msgs {
		t.nextID++
		m.Id = strconv.FormatUint(t.nextID, 10)
		t.byMsg[m.Id] = st
	}
}

// submitted records when the messages of the batch stamped st went to
// the publisher, before they go.
func (t *tracker) submitted(st *submitStamp, at time.Time) {
	t.mu.Lock()
	st.at = at
	t.mu.Unlock()
}

// settle records the broker's answer for one message. The first refusal
// of an event is the one it is answered with. Once every message of the
// event is settled it returns the event's answer, where it goes, and
// when its messages went to the publisher.
func (t *tracker) settle(m *bridgev1.Message, r *publisherv1.PublishResult) (*bridgev1.EventAck, func(*bridgev1.EventAck), time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.byMsg[m.GetId()]
	if !ok {
		return nil, nil, time.Time{}
	}
	delete(t.byMsg, m.GetId())
	if r.GetOutcome() != bridgev1.Outcome_OUTCOME_DELIVERED && st.ack.GetOutcome() != bridgev1.Outcome_OUTCOME_REJECTED {
		st.ack.Outcome = bridgev1.Outcome_OUTCOME_REJECTED
		st.ack.Cause = cmp.Or(r.GetCause(), bridgev1.Cause_CAUSE_PUBLISH_REFUSED)
		st.ack.Reason = fmt.Sprintf("the message on topic %q could not be published: %s", m.GetTopic(), r.GetReason())
	}
	st.remaining--
	if st.remaining > 0 {
		return nil, nil, time.Time{}
	}
	return st.ack, st.reply, st.stamp.at
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
