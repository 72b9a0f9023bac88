package rules

import (
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
	qos, retain, body := ev.GetQos(), ev.GetRetain(), ev.GetPayload()
	// A JSON object stays one through the field filter.
	isJSON := ev.GetPayloadIsObject()
	if p.qos != nil {
		qos = *p.qos
	}
	if p.retain != nil {
		retain = *p.retain
	}
	switch {
	case p.payload != nil:
		isJSON = true
		fields := evalFields(sc, p.payload)
		if p.maxBytes > 0 {
			if body, err = fitPayload(t, fields, p.maxBytes, sc.marker()); err != nil {
				return nil, err
			}
		} else {
			body = encodeObject(fields)
		}
	case p.filter != nil:
		body = p.filter.apply(body)
	}
	if p.payload == nil && p.maxBytes > 0 && len(t)+len(body) > p.maxBytes {
		return nil, errTooBig(len(t)+len(body), p.maxBytes)
	}
	if sc.settings.signs(p.sign) {
		body, isJSON = Sign(sc.settings.SigningKey, body), true
	}
	return newMessage(ev, t, body, isJSON, qos, retain, p.expirySeconds), nil
}
