package mqttsession

import (
	"context"
	"encoding/json"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// The bridge announces itself on a retained status topic so that a display
// or a dashboard subscribing at any time learns whether the bridge is up:
// "online" on every connect, "offline" on a clean stop, and "offline" from
// the broker itself (the last will) when the bridge vanishes.
type bridgeStatus struct {
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	Version   string    `json:"version,omitempty"`
	ClientID  string    `json:"client_id"`
	StartedAt time.Time `json:"started_at,omitzero"`
	At        time.Time `json:"at,omitzero"`
}

func (c Config) statusPayload(s bridgeStatus) []byte {
	s.ClientID = c.ClientID
	b, _ := json.Marshal(s)
	return b
}

func (c Config) will() (*paho.WillMessage, *paho.WillProperties) {
	if c.StatusTopic == "" {
		return nil, nil
	}
	return &paho.WillMessage{
			Topic:   c.StatusTopic,
			QoS:     1,
			Retain:  true,
			Payload: c.statusPayload(bridgeStatus{State: "offline", Reason: "connection lost"}),
		}, &paho.WillProperties{
			ContentType: "application/json",
		}
}

func (s *Session) announce(ctx context.Context, cm *autopaho.ConnectionManager, st bridgeStatus) error {
	if s.cfg.StatusTopic == "" {
		return nil
	}
	_, err := cm.Publish(ctx, &paho.Publish{
		Topic:      s.cfg.StatusTopic,
		QoS:        1,
		Retain:     true,
		Payload:    s.cfg.statusPayload(st),
		Properties: &paho.PublishProperties{ContentType: "application/json"},
	})
	return err
}

// Stop announces "offline", then disconnects cleanly (so the broker does
// not send the will as well).
func (s *Session) Stop(ctx context.Context) {
	if err := s.announce(ctx, s.ConnectionManager, bridgeStatus{State: "offline", Reason: "stopped", At: time.Now().UTC()}); err != nil {
		s.log.Warn("could not announce offline status", "topic", s.cfg.StatusTopic, "err", err)
	}
	_ = s.Disconnect(ctx)
}
