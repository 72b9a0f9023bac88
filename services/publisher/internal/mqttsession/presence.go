package mqttsession

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/tlsdiag"
)

// The words a presence topic carries, as tool displays read them.
const (
	PresenceOnline  = "online"
	PresenceOffline = "offline"
)

// Presence is a second, small MQTT connection that only says whether the
// bridge is up, on a retained topic that tool displays read (such as
// nemo/server/status): "online" on connect, "offline" on a clean stop,
// and "offline" from the broker itself, the connection's last will, when
// the publisher vanishes. MQTT gives a connection one will, and the main
// session's serves the bridge's own status topic, hence the second
// connection. It uses the session's broker, TLS and credentials, with the
// client id "<client-id>-presence".
type Presence struct {
	cm    *autopaho.ConnectionManager
	topic string
	log   *slog.Logger
	// up and renew reconnect it, like the session, when the TLS files
	// are renewed (reload.go).
	up    atomic.Bool
	renew *tlsWatch
}

// StartPresence begins connecting in the background and returns at once;
// it reconnects until ctx ends or Stop is called.
func StartPresence(ctx context.Context, c Config, topic string, log *slog.Logger) (*Presence, error) {
	if err := publishable.Topic(topic); err != nil {
		return nil, fmt.Errorf("presence topic %q: %w", topic, err)
	}
	if strings.HasPrefix(topic, "$") {
		return nil, fmt.Errorf("presence topic %q: topics starting with $ are the broker's own", topic)
	}
	brokers, err := c.checkedBrokers()
	if err != nil {
		return nil, err
	}
	p := &Presence{topic: topic, log: log}
	p.renew = newTLSWatch(c, log.With("connection", "presence"), p.up.Load)
	clientID := c.ClientID + "-presence"
	cfg := c.clientConfig(brokers, log, p.renew, nil)
	cfg.WillMessage = &paho.WillMessage{Topic: topic, QoS: 1, Retain: true, Payload: []byte(PresenceOffline)}
	cfg.OnConnectionUp = func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
		p.up.Store(true)
		b, _ := brokers.current()
		log.Info("presence connection up", "broker", b.logged(), "topic", topic, "client_id", clientID)
		go func() { // OnConnectionUp must not block
			if err := p.announce(ctx, cm, PresenceOnline); err != nil {
				log.Warn("could not announce online presence", "topic", topic, "err", err)
			}
		}()
	}
	cfg.OnConnectionDown = func() bool {
		p.up.Store(false)
		return true
	}
	cfg.OnConnectError = func(err error) {
		b, _ := brokers.current()
		log.Warn("presence connection: cannot connect to MQTT broker", "broker", b.logged(), "problem", tlsdiag.Explain(ctx, err, c.target(b)), "err", err)
	}
	cfg.ClientConfig = paho.ClientConfig{ClientID: clientID}
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("MQTT presence connection to %s: %w", c.Broker(), err)
	}
	p.cm = cm
	p.renew.start(ctx, brokers)
	return p, nil
}

func (p *Presence) announce(ctx context.Context, cm *autopaho.ConnectionManager, state string) error {
	_, err := cm.Publish(ctx, &paho.Publish{Topic: p.topic, QoS: 1, Retain: true, Payload: []byte(state)})
	return err
}

// Stop says "offline" when announce is true (a clean stop; not when
// another publisher is taking over, which says "online" itself), then
// disconnects cleanly, so that the broker does not send the will as well.
func (p *Presence) Stop(ctx context.Context, announce bool) {
	if announce {
		if err := p.announce(ctx, p.cm, PresenceOffline); err != nil {
			p.log.Warn("could not announce offline presence", "topic", p.topic, "err", err)
		}
	}
	_ = p.cm.Disconnect(ctx)
}
