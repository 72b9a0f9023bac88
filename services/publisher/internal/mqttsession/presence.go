package mqttsession

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

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
}

// StartPresence begins connecting in the background and returns at once;
// it reconnects until ctx ends or Stop is called.
func StartPresence(ctx context.Context, c Config, topic string, log *slog.Logger) (*Presence, error) {
	if strings.ContainsAny(topic, "+#\x00") || strings.HasPrefix(topic, "$") {
		return nil, fmt.Errorf("presence topic %q: a topic to publish to cannot hold + or # or start with $", topic)
	}
	u, err := c.brokerURL()
	if err != nil {
		return nil, err
	}
	if _, err := c.minVersion(); err != nil {
		return nil, err
	}
	p := &Presence{topic: topic, log: log}
	clientID := c.ClientID + "-presence"
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     uint16(c.KeepAlive / time.Second),
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              autopaho.NewExponentialBackoff(250*time.Millisecond, 15*time.Second, time.Second, 2),
		ConnectTimeout:                10 * time.Second,
		ConnectUsername:               c.Username,
		ConnectPassword:               []byte(c.Password),
		WillMessage:                   &paho.WillMessage{Topic: topic, QoS: 1, Retain: true, Payload: []byte(PresenceOffline)},
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			log.Info("presence connection up", "topic", topic, "client_id", clientID)
			go func() { // OnConnectionUp must not block
				if err := p.announce(ctx, cm, PresenceOnline); err != nil {
					log.Warn("could not announce online presence", "topic", topic, "err", err)
				}
			}()
		},
		OnConnectError: func(err error) {
			log.Warn("presence connection: cannot connect to MQTT broker", "broker", u.Redacted(), "problem", tlsdiag.Explain(ctx, err, c.target(u)), "err", err)
		},
		ClientConfig: paho.ClientConfig{ClientID: clientID},
	}
	cfg.AttemptConnection = presenceDialer(c, cfg.ConnectTimeout)
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("MQTT presence connection to %s: %w", u.Redacted(), err)
	}
	p.cm = cm
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

// presenceDialer connects as the session does, reading the TLS files at
// every attempt so that renewed ones are used at the next connect.
func presenceDialer(c Config, timeout time.Duration) func(context.Context, autopaho.ClientConfig, *url.URL) (net.Conn, error) {
	return func(ctx context.Context, _ autopaho.ClientConfig, u *url.URL) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var tlsCfg *tls.Config
		if u.Scheme == "tls" {
			var err error
			if tlsCfg, err = c.tlsConfig(); err != nil {
				return nil, err
			}
			if tlsCfg.ServerName == "" {
				tlsCfg.ServerName = u.Hostname()
			}
		}
		var d net.Dialer
		raw, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil || tlsCfg == nil {
			return raw, err
		}
		tc := tls.Client(raw, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return packets.NewThreadSafeConn(tc), nil
	}
}
