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
	// payload, when not nil, builds a new JSON object instead of passing
	// the event's payload on.
	payload []namedValue
	// aboutOpenTask publishes once for the tool's newest open task, and
	// not at all when none is open.
	aboutOpenTask bool
	// maxBytes, when not 0, bounds the topic and the payload together;
	// texts marked fit are shortened to stay within it.
	maxBytes int
	// sign is nil when the router's -sign-all decides; signAt is where
	// "sign" is written, for an error when there is no key.
	sign   *bool
	signAt *Error
}

// messages are the publishes for one event (none, or one), without ids
// (the router numbers every message it hands the publisher).
func (p *publication) messages(sc *scope) ([]*bridgev1.Message, error) {
	if p.aboutOpenTask {
		task := newestOpenTask(sc.state)
		if task == nil {
			return nil, nil
		}
		about := *sc
		about.task = task
		sc = &about
	}
	m, err := p.message(sc)
	if err != nil {
		return nil, err
	}
	return []*bridgev1.Message{m}, nil
}

func (p *publication) message(sc *scope) (*bridgev1.Message, error) {
	in := sc.in
	t, err := p.topic.render(in, sc.prefix)
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
	switch {
	case p.payload != nil:
		fields := evalFields(sc, p.payload)
		if p.maxBytes > 0 {
			if m.Payload, err = fitPayload(t, fields, p.maxBytes, sc.marker()); err != nil {
				return nil, err
			}
		} else {
			m.Payload = encodeObject(fields)
		}
	case p.filter != nil:
		m.Payload = p.filter.apply(m.Payload)
	}
	if p.payload == nil && p.maxBytes > 0 && len(t)+len(m.Payload) > p.maxBytes {
		return nil, errTooBig(len(t)+len(m.Payload), p.maxBytes)
	}
	if sc.settings.signs(p.sign) {
		m.Payload = Sign(sc.settings.SigningKey, m.Payload)
	}
	if json.Valid(m.Payload) {
		m.ContentType = "application/json"
	}
	return m, nil
}
