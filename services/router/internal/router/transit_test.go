package router

import (
	"testing"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
)

// sentRequests is the generated Publish client stream with its sent
// requests kept.
type sentRequests struct {
	publisherv1.PublisherService_PublishClient
	got []*publisherv1.PublishRequest
}

func (s *sentRequests) Send(r *publisherv1.PublishRequest) error {
	s.got = append(s.got, r)
	return nil
}

// Every Publish request carries when the router sent it, so that the
// publisher can tell how long the hop between them took.
func TestPublishRequestsCarryWhenTheyWereSent(t *testing.T) {
	sent := &sentRequests{}
	stream := &publishStream{PublisherService_PublishClient: sent}
	stream.readsEventID.Store(true)
	before := time.Now()
	if err := stream.Send([]*bridgev1.Message{{Id: "1"}, {Id: "2"}}); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if len(sent.got) != 1 {
		t.Fatalf("%d requests sent, want 1", len(sent.got))
	}
	if at := sent.got[0].GetSentAt(); at == nil || at.AsTime().Before(before) || at.AsTime().After(after) {
		t.Errorf("sent_at = %v, want the time of sending, between %v and %v", at, before, after)
	}
}
