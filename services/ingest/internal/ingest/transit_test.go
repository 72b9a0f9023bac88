package ingest

import (
	"testing"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
)

// sentRequests is the generated Route client stream with its sent
// requests kept.
type sentRequests struct {
	routerv1.RouterService_RouteClient
	got []*routerv1.RouteRequest
}

func (s *sentRequests) Send(r *routerv1.RouteRequest) error {
	s.got = append(s.got, r)
	return nil
}

// Every Route request carries when ingest sent it, so that the router can
// tell how long the hop between them took.
func TestRouteRequestsCarryWhenTheyWereSent(t *testing.T) {
	sent := &sentRequests{}
	before := time.Now()
	if err := (routeStream{sent}).Send([]*bridgev1.Event{{Id: "1-0"}, {Id: "2-0"}}); err != nil {
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
