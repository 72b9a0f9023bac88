package rules

import (
	"encoding/json"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

// publication is one entry of a rule's publish list.
type publication struct {
	topic topicTemplate
	// qos and retain are nil when the event's own apply.
	qos    *uint32
	retain *bool
	// expirySeconds is the MQTT v5 message expiry; 0 means none.
	expirySeconds uint32
	// filter is nil when the payload is published whole.
	filter *fieldFilter
}

// message is the publish for one event, without an id (the router numbers
// messages per stream).
func (p *publication) message(in *input, prefix string) (*bridgev1.Message, error) {
	t, err := p.topic.render(in, prefix)
	if err != nil {
		return nil, err
	}
	ev := in.ev
	m := &bridgev1.Message{
		Topic:          t,
		Payload:        ev.GetPayload(),
		Qos:            ev.GetQos(),
		Retain:         ev.GetRetain(),
		OrderingKey:    ev.GetOrderingKey(),
		ExpirySeconds:  p.expirySeconds,
		UserProperties: map[string]string{"event_id": ev.GetId()},
	}
	if p.qos != nil {
		m.Qos = *p.qos
	}
	if p.retain != nil {
		m.Retain = *p.retain
	}
	if p.filter != nil {
		m.Payload = p.filter.apply(m.Payload)
	}
	if json.Valid(m.Payload) {
		m.ContentType = "application/json"
	}
	return m, nil
}
