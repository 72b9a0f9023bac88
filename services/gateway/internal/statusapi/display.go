package statusapi

import (
	"context"
	"fmt"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// Where the tool displays read (the displays profile of the router). A
// named site's screens read below the site's topic prefix; the presence
// topic is the bridge's, one for every site, and has none.
const (
	displayTopics = "nemo/esp32/%d/+"
	presenceTopic = "nemo/server/status"
)

// GetDisplay reads what the broker holds retained for a tool's screen, so
// that someone can check a screen without walking to it. It asks the
// active publisher, whose session sees what a screen subscribing now sees.
func (s *Server) GetDisplay(ctx context.Context, req *statusv1.GetDisplayRequest) (*statusv1.GetDisplayResponse, error) {
	if err := checkToolID(req.GetToolId()); err != nil {
		return nil, err
	}
	site := req.GetSite()
	prefix, err := s.siteOf(ctx, site)
	if err != nil {
		return nil, err
	}
	resp := &statusv1.GetDisplayResponse{}
	err = s.peers.onActivePublisher(func(client publisherv1.PublisherServiceClient) error {
		screen, err := client.ReadRetained(ctx, &publisherv1.ReadRetainedRequest{Filter: prefix + fmt.Sprintf(displayTopics, req.GetToolId())})
		if err != nil {
			return err
		}
		presence, err := client.ReadRetained(ctx, &publisherv1.ReadRetainedRequest{Filter: presenceTopic})
		if err != nil {
			return err
		}
		for _, m := range screen.GetMessages() {
			msg := &statusv1.Message{Topic: m.GetTopic(), Payload: m.GetPayload(), Retain: true, ToolId: req.GetToolId(), Site: site}
			if utf8.Valid(m.GetPayload()) {
				msg.PayloadText = string(m.GetPayload())
			}
			resp.Messages = append(resp.Messages, msg)
		}
		if ms := presence.GetMessages(); len(ms) > 0 {
			resp.ServerStatus = string(ms[0].GetPayload())
		}
		return nil
	})
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "cannot read the broker's retained messages: %s", status.Convert(err).Message())
	}
	return resp, nil
}
