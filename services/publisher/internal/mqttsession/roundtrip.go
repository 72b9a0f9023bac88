package mqttsession

import (
	"context"
	"fmt"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/mqtttopic"
)

// subscribed subscribes the session to filter, with its own listener, for
// the length of read; the subscription is gone again when read returns.
func (s *Session) subscribed(ctx context.Context, filter string, heard func(*paho.Publish), read func() error) error {
	parsed, err := mqtttopic.ParseFilter(filter)
	if err != nil {
		return fmt.Errorf("topic filter %q: %w", filter, err)
	}
	s.listeners.reading.Lock()
	defer s.listeners.reading.Unlock()
	defer s.listeners.listen(parsed, heard)()
	if _, err := s.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		return fmt.Errorf("subscribe to %s: %w", filter, err)
	}
	defer func() {
		// A fresh context: the caller's may be over, and the session must
		// not keep the subscription.
		unsubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = s.Unsubscribe(unsubCtx, &paho.Unsubscribe{Topics: []string{filter}})
	}()
	return read()
}

// RoundTrip subscribes to topic, publishes payload there with QoS 1, and
// waits until the broker delivers it back to this same session: the path
// the bridge's messages take, with the bridge's own credentials and ACL.
func (s *Session) RoundTrip(ctx context.Context, topic string, payload []byte) (sent, received time.Time, err error) {
	back := make(chan time.Time, 1)
	heard := func(*paho.Publish) {
		select {
		case back <- time.Now():
		default:
		}
	}
	err = s.subscribed(ctx, topic, heard, func() error {
		sent = time.Now()
		if _, err := s.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload}); err != nil {
			return fmt.Errorf("publish to %s: %w", topic, err)
		}
		select {
		case received = <-back:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("the broker took the message on %s but did not send it back: %w", topic, ctx.Err())
		}
	})
	return sent, received, err
}
