package mqttsession

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// echoes are the round trips waiting for their message to come back, by
// topic.
type echoes struct {
	mu      sync.Mutex
	waiting map[string]chan time.Time
}

// received is the session's handler of incoming messages; the bridge
// subscribes to nothing else.
func (e *echoes) received(r paho.PublishReceived) (bool, error) {
	at := time.Now()
	e.mu.Lock()
	ch := e.waiting[r.Packet.Topic]
	e.mu.Unlock()
	if ch != nil {
		select {
		case ch <- at:
		default:
		}
	}
	return true, nil
}

func (e *echoes) wait(topic string) (<-chan time.Time, func()) {
	ch := make(chan time.Time, 1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.waiting == nil {
		e.waiting = map[string]chan time.Time{}
	}
	e.waiting[topic] = ch
	return ch, func() {
		e.mu.Lock()
		delete(e.waiting, topic)
		e.mu.Unlock()
	}
}

// RoundTrip subscribes to topic, publishes payload there with QoS 1, and
// waits until the broker delivers it back to this same session: the path
// the bridge's messages take, with the bridge's own credentials and ACL.
func (s *Session) RoundTrip(ctx context.Context, topic string, payload []byte) (sent, received time.Time, err error) {
	back, done := s.echoes.wait(topic)
	defer done()
	if _, err := s.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}}); err != nil {
		return sent, received, fmt.Errorf("subscribe to %s: %w", topic, err)
	}
	defer func() {
		// A fresh context: the caller's may be over, and the session must
		// not keep the subscription.
		unsubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = s.Unsubscribe(unsubCtx, &paho.Unsubscribe{Topics: []string{topic}})
	}()
	sent = time.Now()
	if _, err := s.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload}); err != nil {
		return sent, received, fmt.Errorf("publish to %s: %w", topic, err)
	}
	select {
	case received = <-back:
		return sent, received, nil
	case <-ctx.Done():
		return sent, received, fmt.Errorf("the broker took the message on %s but did not send it back: %w", topic, ctx.Err())
	}
}
