package router

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/testing/protocmp"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
)

// broker stands for the publisher: it answers every message at once and
// remembers the topics, and what each one retains.
type broker struct {
	ctx     context.Context
	results chan []*publisherv1.PublishResult
	// refuses is the topic the broker refuses, if any.
	refuses  string
	mu       sync.Mutex
	topics   []string
	payloads map[string][]byte // the latest on each topic
	retained map[string][]byte
}

func (b *broker) Send(msgs []*bridgev1.Message) error {
	var rs []*publisherv1.PublishResult
	b.mu.Lock()
	for _, m := range msgs {
		r := &publisherv1.PublishResult{MessageId: m.GetId(), Outcome: bridgev1.Outcome_OUTCOME_DELIVERED}
		switch {
		case m.GetTopic() == b.refuses:
			r.Outcome, r.Reason = bridgev1.Outcome_OUTCOME_REJECTED, "not authorized"
		case m.GetRetain():
			b.retained[m.GetTopic()] = m.GetPayload()
		}
		b.topics = append(b.topics, m.GetTopic())
		b.payloads[m.GetTopic()] = m.GetPayload()
		rs = append(rs, r)
	}
	b.mu.Unlock()
	b.results <- rs
	return nil
}

// payload is the latest payload the broker was given on topic.
func (b *broker) payload(topic string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.payloads[topic]
}

// retains is what the broker retains on topic.
func (b *broker) retains(topic string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.retained[topic]
}

func (b *broker) Recv() ([]*publisherv1.PublishResult, error) {
	select {
	case rs := <-b.results:
		return rs, nil
	case <-b.ctx.Done():
		return nil, b.ctx.Err()
	}
}

// routeServer is the router as Run wires it, with state kept by state
// (nil: without Redis), publishing to the returned broker.
func routeServer(t *testing.T, book *rulebook, state *stateKeeper) (routerv1.RouterServiceClient, *broker) {
	t.Helper()
	return routeServerMetrics(t, book, state, prometheus.NewRegistry())
}

// routeServerMetrics is routeServer with its metrics in reg.
func routeServerMetrics(t *testing.T, book *rulebook, state *stateKeeper, reg *prometheus.Registry) (routerv1.RouterServiceClient, *broker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &broker{ctx: ctx, results: make(chan []*publisherv1.PublishResult, 64), payloads: map[string][]byte{}, retained: map[string][]byte{}}
	srv := &server{rules: book, tracker: newTracker(), stopping: ctx, state: state, log: testLog(t)}
	if state != nil {
		go state.open(ctx)
	}
	srv.link = newShards(nil, nil, relay.NewLink(relay.LinkConfig[*bridgev1.Message, *publisherv1.PublishResult]{
		Dial: func(context.Context) (relay.Stream[*bridgev1.Message, *publisherv1.PublishResult], error) {
			return b, nil
		},
		ItemID:   (*bridgev1.Message).GetId,
		ResultID: (*publisherv1.PublishResult).GetMessageId,
		OnResult: srv.settled,
		Log:      testLog(t),
	}))
	srv.metrics = newMetrics(reg, func() float64 { return 0 })
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.link.Run(ctx) }()
	client := serve(t, srv)
	t.Cleanup(func() { cancel(); <-done })
	return client, b
}

// route sends events as one batch and returns the answers, by event id.
func route(t *testing.T, client routerv1.RouterServiceClient, events ...*bridgev1.Event) map[string]*bridgev1.EventAck {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := client.Route(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&routerv1.RouteRequest{Events: events}); err != nil {
		t.Fatal(err)
	}
	got := map[string]*bridgev1.EventAck{}
	for len(got) < len(events) {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.GetAcks() {
			got[a.GetEventId()] = a
		}
	}
	return got
}

func TestRouteAppliesTheRules(t *testing.T) {
	client, b := routeServer(t, newTestBook(t, rulesFile(t, rulesV2), ""), nil)
	got := route(t, client,
		&bridgev1.Event{Id: "1-0", Topic: "nemo/tools/12/enabled", Payload: []byte(`{"event":"tool_enabled","tool_id":12}`), OrderingKey: "tool:12"},
		&bridgev1.Event{Id: "2-0", Topic: "nemo/reservations/31", Payload: []byte(`{"event":"reservation_created"}`)},
		&bridgev1.Event{Id: "3-0", Topic: "", Payload: []byte(`{"event":"tool_disabled"}`)},
	)
	want := map[string]*bridgev1.EventAck{
		"1-0": {EventId: "1-0", Outcome: bridgev1.Outcome_OUTCOME_DELIVERED},
		"2-0": {EventId: "2-0", Outcome: bridgev1.Outcome_OUTCOME_FILTERED},
		"3-0": {EventId: "3-0", Outcome: bridgev1.Outcome_OUTCOME_REJECTED, Cause: bridgev1.Cause_CAUSE_INVALID_TOPIC,
			Reason: `rule "plugin-topics", publish[0]: {topic}: source topic "" cannot be published: topic is empty`},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("acks (-want +got):\n%s", diff)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if diff := cmp.Diff([]string{"displays/12", "nemo/tools/12/enabled"}, b.topics); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}

// count is how many messages the broker took on topic.
func (b *broker) count(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, t := range b.topics {
		if t == topic {
			n++
		}
	}
	return n
}
