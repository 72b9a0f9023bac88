package statusapi

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// SendTestMessage asks the active publisher to send a message to itself
// through the broker. It changes no tool, but it does publish on the
// broker, so it needs the admin token like every other write.
func (s *Server) SendTestMessage(ctx context.Context, _ *statusv1.SendTestMessageRequest) (*statusv1.SendTestMessageResponse, error) {
	now := s.now()
	topic := fmt.Sprintf("%s/%d", s.testTopic, now.UnixNano())
	payload := fmt.Appendf(nil, `{"test":true,"sent_by":"gateway","at":%q}`, now.UTC().Format(time.RFC3339Nano))
	var resp *publisherv1.RoundTripResponse
	err := s.peers.onActivePublisher(func(client publisherv1.PublisherServiceClient) (err error) {
		resp, err = client.RoundTrip(ctx, &publisherv1.RoundTripRequest{Topic: topic, Payload: payload})
		return err
	})
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "the test message did not come back: %s", status.Convert(err).Message())
	}
	rtt := resp.GetReceivedAt().AsTime().Sub(resp.GetSentAt().AsTime())
	return &statusv1.SendTestMessageResponse{
		Topic: topic, SentAt: resp.GetSentAt(), ReceivedAt: resp.GetReceivedAt(),
		RoundTripMs: float64(rtt.Microseconds()) / 1000,
	}, nil
}
