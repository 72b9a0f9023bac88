package publisher

import (
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publisherreads"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/pipeline"
)

// broker answers by topic: "acl/…" is refused as not authorized, "poison"
// is the session's verdict on a message the broker disconnects over, and
// everything else is acknowledged.
type broker struct{}

func (broker) AwaitConnection(context.Context) error { return nil }
func (broker) Reconnect()                            {}
func (broker) State() mqttsession.State              { return mqttsession.State{Connected: true} }

func (broker) Send(batch []mqttsession.Outgoing) []error {
	for _, o := range batch {
		switch o.Publish.Topic {
		case "acl/denied":
			go o.Answer(&mqttsession.NegativeAckError{Code: 0x87})
		case "poison":
			go o.Answer(&mqttsession.BrokerDisconnectsError{Topic: o.Publish.Topic})
		default:
			go o.Answer(nil)
		}
	}
	return make([]error, len(batch))
}

// Each message of a Publish stream is answered with its outcome and, when
// refused, the cause the router passes on to the dead letters: what the
// router reads instead of guessing from the reason's words.
func TestEveryMessageIsAnsweredWithItsOutcomeAndCause(t *testing.T) {
	srv := newServer(mqttsession.Config{ClientID: "test"}, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "transit"}))
	log := slog.New(slog.DiscardHandler)
	p := pipeline.New(broker{}, pipeline.Options{Capacity: 16, MaxInFlight: 4, Log: log})
	t.Cleanup(p.Close)
	srv.activate(p, nil)
	client := publishClient(t, srv)

	stream, err := client.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	msg := func(id, topic string) *bridgev1.Message {
		return &bridgev1.Message{Id: id, Topic: topic, Qos: 1, OrderingKey: "tool:" + id, Payload: []byte("{}")}
	}
	if err := stream.Send(&publisherv1.PublishRequest{Messages: []*bridgev1.Message{
		msg("1", "nemo/tools/1/enabled"), msg("2", "acl/denied"), msg("3", "poison"), msg("4", "nemo/tools/+/enabled"),
	}}); err != nil {
		t.Fatal(err)
	}
	got := map[string]*publisherv1.PublishResult{}
	for len(got) < 4 {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		for _, r := range resp.GetResults() {
			got[r.GetMessageId()] = r
		}
	}
	rejected := bridgev1.Outcome_OUTCOME_REJECTED
	want := map[string]*publisherv1.PublishResult{
		"1": {MessageId: "1", Outcome: bridgev1.Outcome_OUTCOME_DELIVERED},
		"2": {MessageId: "2", Outcome: rejected, Cause: bridgev1.Cause_CAUSE_PUBLISH_REFUSED, Reason: "broker refused the message (reason code 0x87)"},
		"3": {MessageId: "3", Outcome: rejected, Cause: bridgev1.Cause_CAUSE_BROKER_DISCONNECTS, Reason: got["3"].GetReason()},
		"4": {MessageId: "4", Outcome: rejected, Cause: bridgev1.Cause_CAUSE_PUBLISH_REFUSED, Reason: "not sent: topic level 3 holds '+', an MQTT wildcard, which only subscriptions may use"},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("the stream ended with %v, want io.EOF", err)
	}
}

// Every stream starts with the header saying what this publisher reads,
// a standby's too, before it refuses the stream: a router learns it before
// it sends anything.
func TestEveryStreamAnnouncesThatThePublisherReadsTheEventIDField(t *testing.T) {
	client := publishClient(t, newServer(mqttsession.Config{ClientID: "test"}, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "transit"})))
	stream, err := client.Publish(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	md, err := stream.Header()
	if err != nil {
		t.Fatal(err)
	}
	if got := md.Get(publisherreads.Header); !slices.Equal(got, []string{publisherreads.EventID}) {
		t.Errorf("header %s = %q, want [%s]", publisherreads.Header, got, publisherreads.EventID)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("a standby's stream ended with %v, want Unavailable", err)
	}
}

func publishClient(t *testing.T, srv *server) publisherv1.PublisherServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	publisherv1.RegisterPublisherServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return publisherv1.NewPublisherServiceClient(conn)
}

// A Publish request stamped by the router is observed in the transit
// stage once per message, from its stamp; an older router's, without
// one, is left out.
func TestTransitIsObservedForEachMessageOfAStampedRequest(t *testing.T) {
	transit := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "transit"})
	srv := newServer(mqttsession.Config{ClientID: "test"}, transit)
	p := pipeline.New(broker{}, pipeline.Options{Capacity: 16, MaxInFlight: 4, Log: slog.New(slog.DiscardHandler)})
	t.Cleanup(p.Close)
	srv.activate(p, nil)
	stream, err := publishClient(t, srv).Publish(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	msg := func(id string) *bridgev1.Message {
		return &bridgev1.Message{Id: id, Topic: "nemo/tools/" + id + "/enabled", Qos: 1, OrderingKey: "tool:" + id, Payload: []byte("{}")}
	}
	if err := stream.Send(&publisherv1.PublishRequest{Messages: []*bridgev1.Message{msg("1"), msg("2")}}); err != nil {
		t.Fatal(err)
	}
	stamp := timestamppb.New(time.Now().Add(-30 * time.Millisecond))
	if err := stream.Send(&publisherv1.PublishRequest{SentAt: stamp, Messages: []*bridgev1.Message{msg("3"), msg("4"), msg("5")}}); err != nil {
		t.Fatal(err)
	}
	for results := 0; results < 5; {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		results += len(resp.GetResults())
	}
	var m dto.Metric
	if err := transit.Write(&m); err != nil {
		t.Fatal(err)
	}
	if n := m.GetHistogram().GetSampleCount(); n != 3 {
		t.Errorf("transit: %d observations, want one for each of the stamped request's 3 messages", n)
	}
	if sum := m.GetHistogram().GetSampleSum(); sum < 0.090 {
		t.Errorf("transit: %.4fs in all, want at least the 3 × 30 ms since the stamp", sum)
	}
}
