package publisher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/eclipse/paho.golang/paho"
	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/mqtttopic"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publisherreads"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/pipeline"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// server answers the router's Publish streams.
type server struct {
	publisherv1.UnimplementedPublisherServiceServer
	cfg mqttsession.Config
	// transit observes each message's hop from the router.
	transit prometheus.Observer
	// pipeline and session are nil while this publisher stands by.
	pipeline *pipeline.Pipeline
	session  *mqttsession.Session

	// On shutdown every stream ends and the router resends whatever was not
	// answered to the next publisher; the pipeline may only close once no
	// stream can add to it any more.
	mu      sync.Mutex
	closed  bool
	streams sync.WaitGroup
	cancels map[*context.CancelFunc]struct{}
}

func newServer(cfg mqttsession.Config, transit prometheus.Observer) *server {
	return &server{cfg: cfg, transit: transit, cancels: map[*context.CancelFunc]struct{}{}}
}

// activate starts accepting streams once this publisher holds the session,
// again after a shutdown when it got the lease back.
func (s *server) activate(p *pipeline.Pipeline, session *mqttsession.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pipeline, s.session, s.closed = p, session, false
}

func (s *server) GetSession(context.Context, *publisherv1.GetSessionRequest) (*publisherv1.GetSessionResponse, error) {
	s.mu.Lock()
	session := s.session
	s.mu.Unlock()
	if session == nil {
		return &publisherv1.GetSessionResponse{Broker: s.cfg.Broker(), ClientId: s.cfg.ClientID, Standby: true, LastError: "standing by: another publisher holds the MQTT session"}, nil
	}
	st := session.State()
	// Connected: the broker of the session now, one of -mqtt-url's; else
	// all of them, as each attempt tries them all (LastError says why each
	// failed).
	broker := st.Broker
	if !st.Connected || broker == "" {
		broker = s.cfg.Broker()
	}
	return &publisherv1.GetSessionResponse{
		Broker:    broker,
		ClientId:  s.cfg.ClientID,
		Connected: st.Connected,
		Since:     timestamppb.New(st.Since),
		LastError: st.LastError,
	}, nil
}

// shutdown ends every stream and waits until their handlers returned; the
// publisher answers as a standby from then on.
func (s *server) shutdown() {
	s.mu.Lock()
	s.closed = true
	for c := range s.cancels {
		(*c)()
	}
	s.mu.Unlock()
	s.streams.Wait()
	s.mu.Lock()
	s.pipeline, s.session = nil, nil
	s.mu.Unlock()
}

// begin registers a stream and gives it the pipeline of the session of
// the moment: a stream's receiving goroutine may outlive its handler, and
// must not see the next session's.
func (s *server) begin(cancel *context.CancelFunc) (*pipeline.Pipeline, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.pipeline == nil {
		return nil, false
	}
	s.streams.Add(1)
	s.cancels[cancel] = struct{}{}
	return s.pipeline, true
}

func (s *server) end(cancel *context.CancelFunc) {
	s.mu.Lock()
	delete(s.cancels, cancel)
	s.mu.Unlock()
	s.streams.Done()
}

func (s *server) Publish(stream publisherv1.PublisherService_PublishServer) error {
	// What this publisher reads, announced at once, whether it serves the
	// stream or not; the router reads it once the first answer came.
	if err := stream.SendHeader(metadata.Pairs(publisherreads.Header, publisherreads.EventID)); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	p, ok := s.begin(&cancel)
	if !ok {
		return status.Error(codes.Unavailable, "this publisher is not the active one (standing by or shutting down)")
	}
	defer s.end(&cancel)

	replies := relay.NewReplies[*publisherv1.PublishResult](ctx, 4096, 512)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = replies.Run(func(rs []*publisherv1.PublishResult) error {
			return stream.Send(&publisherv1.PublishResponse{Results: rs})
		})
		cancel()
	}()
	err := untilDone(ctx, func() error { return s.receive(ctx, stream, replies, p) })
	cancel()
	wg.Wait()
	if errors.Is(err, io.EOF) || ctx.Err() != nil {
		return nil
	}
	return err
}

func (s *server) receive(ctx context.Context, stream publisherv1.PublisherService_PublishServer, replies *relay.Replies[*publisherv1.PublishResult], p *pipeline.Pipeline) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		relay.ObserveTransit(s.transit, req.GetSentAt(), len(req.GetMessages()))
		msgs := make([]pipeline.Message, 0, len(req.GetMessages()))
		for _, m := range req.GetMessages() {
			pm := pipeline.Message{Ctx: ctx, Key: m.GetOrderingKey(), Replaceable: m.GetReplaceable(), Done: answer(m.GetId(), replies)}
			if err := unpublishable(m); err != nil {
				pm.Err = fmt.Errorf("not sent: %w", err)
			} else {
				pm.Publish = toPaho(m)
			}
			msgs = append(msgs, pm)
		}
		p.Add(ctx, msgs)
	}
}

// answer tells the router the fate of message id.
func answer(id string, replies *relay.Replies[*publisherv1.PublishResult]) func(error) {
	return func(err error) {
		r := &publisherv1.PublishResult{MessageId: id, Outcome: bridgev1.Outcome_OUTCOME_DELIVERED}
		switch {
		case errors.Is(err, pipeline.ErrReplaced):
			r.Replaced = true
		case err != nil:
			r.Outcome, r.Cause, r.Reason = bridgev1.Outcome_OUTCOME_REJECTED, bridgev1.Cause_CAUSE_PUBLISH_REFUSED, err.Error()
			var caused interface{ Cause() bridgev1.Cause }
			if errors.As(err, &caused) {
				r.Cause = caused.Cause()
			}
		}
		replies.Put(r)
	}
}

// unpublishable says why brokers would refuse m, or returns nil. Such a
// message is answered at once and never sent: a broker refuses it by
// closing the connection, and the session, resending it at every
// reconnect, would deliver nothing else.
func unpublishable(m *bridgev1.Message) error {
	if err := publishable.Topic(m.GetTopic()); err != nil {
		return err
	}
	if err := publishable.Payload(m.GetPayload()); err != nil {
		return err
	}
	if err := publishable.Text(m.GetContentType()); err != nil {
		return fmt.Errorf("the content type %w", err)
	}
	if err := publishable.Text(m.GetEventId()); err != nil {
		return fmt.Errorf("the value of user property %q %w", publisherreads.EventIDProperty, err)
	}
	props := m.GetUserProperties()
	for k, v := range props {
		if publishable.Text(k) != nil || publishable.Text(v) != nil {
			return userPropertyError(props)
		}
	}
	return nil
}

// userPropertyError names the first property brokers would refuse, in
// name order, so that the same message always gets the same reason.
func userPropertyError(props map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if err := publishable.Text(k); err != nil {
			return fmt.Errorf("the name of user property %q %w", k, err)
		}
		if err := publishable.Text(props[k]); err != nil {
			return fmt.Errorf("the value of user property %q %w", k, err)
		}
	}
	return nil
}

// toPaho is m as an MQTT PUBLISH. The event's id comes in m.event_id from
// a router that knows this publisher reads it, in user_properties from an
// older one; if both are set, the field wins and the property goes out once.
func toPaho(m *bridgev1.Message) *paho.Publish {
	props := &paho.PublishProperties{ContentType: m.GetContentType()}
	if e := m.GetExpirySeconds(); e > 0 {
		props.MessageExpiry = &e
	}
	id := m.GetEventId()
	if id != "" {
		props.User.Add(publisherreads.EventIDProperty, id)
	}
	for k, v := range m.GetUserProperties() {
		if k != publisherreads.EventIDProperty || id == "" {
			props.User.Add(k, v)
		}
	}
	return &paho.Publish{
		Topic:      m.GetTopic(),
		Payload:    m.GetPayload(),
		QoS:        byte(m.GetQos()),
		Retain:     m.GetRetain(),
		Properties: props,
	}
}

// untilDone runs receive, but returns as soon as ctx ends: a blocked
// stream.Recv does not see our context, only the stream's, which ends when
// the handler returns (and then receive ends too).
func untilDone(ctx context.Context, receive func() error) error {
	done := make(chan error, 1)
	go func() { done <- receive() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RoundTrip sends a test message through the session and waits for it to
// come back; the gateway's "send a test message" button.
func (s *server) RoundTrip(ctx context.Context, req *publisherv1.RoundTripRequest) (*publisherv1.RoundTripResponse, error) {
	if err := publishable.Topic(req.GetTopic()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "topic %q: %v", req.GetTopic(), err)
	}
	if err := publishable.Payload(req.GetPayload()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	session, err := s.connectedSession()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, roundTripTimeout)
	defer cancel()
	sent, received, err := session.RoundTrip(ctx, req.GetTopic(), req.GetPayload())
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &publisherv1.RoundTripResponse{SentAt: timestamppb.New(sent), ReceivedAt: timestamppb.New(received)}, nil
}

// roundTripTimeout bounds a test message; on a healthy broker it takes
// milliseconds.
const roundTripTimeout = 10 * time.Second

// InFlight says which of the keys the pipeline holds messages of, so that
// a router can move a tool to another shard only once this one let it go.
// A standby holds nothing, but the shard's messages may be in flight at
// its active publisher: it refuses, and the router asks the next one.
func (s *server) InFlight(_ context.Context, req *publisherv1.InFlightRequest) (*publisherv1.InFlightResponse, error) {
	if n := len(req.GetOrderingKeys()); n > publisherreads.MaxInFlightKeys {
		return nil, status.Errorf(codes.InvalidArgument, "%d ordering keys in one request; at most %d", n, publisherreads.MaxInFlightKeys)
	}
	s.mu.Lock()
	p := s.pipeline
	s.mu.Unlock()
	if p == nil {
		return nil, status.Error(codes.FailedPrecondition, "this publisher stands by; ask the active one")
	}
	return &publisherv1.InFlightResponse{OrderingKeys: p.Holding(req.GetOrderingKeys())}, nil
}

// ReadRetained reads what the broker keeps retained on a filter, for the
// gateway's view of a tool's screen.
func (s *server) ReadRetained(ctx context.Context, req *publisherv1.ReadRetainedRequest) (*publisherv1.ReadRetainedResponse, error) {
	if _, err := mqtttopic.ParseFilter(req.GetFilter()); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "filter %q: %v", req.GetFilter(), err)
	}
	session, err := s.connectedSession()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, roundTripTimeout)
	defer cancel()
	msgs, err := session.ReadRetained(ctx, req.GetFilter())
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	resp := &publisherv1.ReadRetainedResponse{}
	for _, m := range msgs {
		resp.Messages = append(resp.Messages, &publisherv1.RetainedMessage{Topic: m.Topic, Payload: m.Payload})
	}
	return resp, nil
}

// connectedSession is the session for the bridge's own reads from the
// broker: a standby answers FAILED_PRECONDITION (ask the active one), a
// publisher cut off from the broker UNAVAILABLE with why.
func (s *server) connectedSession() (*mqttsession.Session, error) {
	s.mu.Lock()
	session := s.session
	s.mu.Unlock()
	if session == nil {
		return nil, status.Error(codes.FailedPrecondition, "this publisher stands by; ask the active one")
	}
	if st := session.State(); !st.Connected {
		return nil, status.Errorf(codes.Unavailable, "the bridge is not connected to the broker %s. %s", s.cfg.Broker(), st.LastError)
	}
	return session, nil
}
