package router

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publisherreads"
)

// recordingPublisher keeps the first request of a stream, announcing
// header first when it has one (a publisher of this release does; an
// older one does not).
type recordingPublisher struct {
	publisherv1.UnimplementedPublisherServiceServer
	header metadata.MD
	got    chan *publisherv1.PublishRequest
}

func (p *recordingPublisher) Publish(stream publisherv1.PublisherService_PublishServer) error {
	if p.header != nil {
		if err := stream.SendHeader(p.header); err != nil {
			return err
		}
	}
	for {
		req, err := stream.Recv()
		if err != nil {
			return nil
		}
		p.got <- req
		if err := stream.Send(&publisherv1.PublishResponse{}); err != nil {
			return err
		}
	}
}

// Until the publisher's first answer, the event's id goes in
// user_properties, which every release reads (an older publisher sends its
// header only with that answer). After it, a publisher that announced it
// reads Message.event_id gets the id there only; an older one still in
// user_properties. The router's own message is left as it was, for a
// resend to either.
func TestTheEventIDGoesWhereThePublisherReadsIt(t *testing.T) {
	inField := &bridgev1.Message{Id: "1", Topic: "t", EventId: "9-0", UserProperties: map[string]string{"k": "v"}}
	inProperties := &bridgev1.Message{Id: "1", Topic: "t", UserProperties: map[string]string{"k": "v", "event_id": "9-0"}}
	for name, tc := range map[string]struct {
		header     metadata.MD
		afterFirst *bridgev1.Message
	}{
		"this release":  {metadata.Pairs(publisherreads.Header, publisherreads.EventID), inField},
		"older release": {nil, inProperties},
	} {
		t.Run(name, func(t *testing.T) {
			pub := &recordingPublisher{header: tc.header, got: make(chan *publisherv1.PublishRequest, 2)}
			conn := inMemory(t, func(g *grpc.Server) { publisherv1.RegisterPublisherServiceServer(g, pub) })
			ps := &publishers{conns: []*grpc.ClientConn{conn}}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stream, err := ps.dial(ctx)
			if err != nil {
				t.Fatal(err)
			}
			m := proto.CloneOf(inField)
			for i, want := range []*bridgev1.Message{inProperties, tc.afterFirst} {
				if err := stream.Send([]*bridgev1.Message{m}); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]*bridgev1.Message{want}, (<-pub.got).GetMessages(), protocmp.Transform()); diff != "" {
					t.Errorf("request %d: the publisher got (-want +got):\n%s", i+1, diff)
				}
				if _, err := stream.Recv(); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(inField, m, protocmp.Transform()); diff != "" {
				t.Errorf("the router's message changed (-before +after):\n%s", diff)
			}
		})
	}
}
