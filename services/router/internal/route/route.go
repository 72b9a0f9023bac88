// Package route turns an event into the MQTT messages it produces.
package route

import (
	"encoding/json"
	"fmt"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/topic"
)

// Rejection says why an event cannot be published.
type Rejection struct {
	Code   string
	Reason string
}

// Passthrough publishes each event on its own topic, made safe and put
// under Prefix: the NEMO plugin's topics, unchanged by default.
type Passthrough struct {
	Prefix string
}

// Route returns the messages for ev, without ids, or why there are none.
func (p Passthrough) Route(ev *bridgev1.Event) ([]*bridgev1.Message, *Rejection) {
	t, err := topic.Sanitize(ev.GetTopic())
	if err != nil {
		return nil, &Rejection{Code: "invalid_topic", Reason: fmt.Sprintf("topic %q cannot be published: %v", ev.GetTopic(), err)}
	}
	t = p.Prefix + t
	if len(t) > topic.MaxLen {
		return nil, &Rejection{Code: "invalid_topic", Reason: fmt.Sprintf("topic %q is too long once prefixed", ev.GetTopic())}
	}
	m := &bridgev1.Message{
		Topic:          t,
		Payload:        ev.GetPayload(),
		Qos:            ev.GetQos(),
		Retain:         ev.GetRetain(),
		OrderingKey:    ev.GetOrderingKey(),
		UserProperties: map[string]string{"event_id": ev.GetId()},
	}
	if json.Valid(m.Payload) {
		m.ContentType = "application/json"
	}
	return []*bridgev1.Message{m}, nil
}
