package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// Message is one message a Subscriber received.
type Message struct {
	Topic     string
	Payload   []byte
	QoS       byte
	Retain    bool
	UserProps map[string]string
	// ContentType and MessageExpiry are the MQTT v5 properties; the
	// broker passes on the expiry as the seconds left (0: none).
	ContentType   string
	MessageExpiry uint32
	ReceivedAt    time.Time
}

// Subscriber is an MQTT v5 client on the broker's TLS listener that
// records everything it receives.
type Subscriber struct {
	cm      *autopaho.ConnectionManager
	mu      sync.Mutex
	msgs    []Message
	arrived chan struct{}
}

// Subscribe connects over TLS and subscribes to filter at QoS 1.
func (p *Pipeline) Subscribe(filter string) (*Subscriber, error) {
	return p.SubscribeAs("", "", filter, 1)
}

// SubscribeAs subscribes with credentials, at the given QoS.
func (p *Pipeline) SubscribeAs(user, password, filter string, qos byte) (*Subscriber, error) {
	return p.SubscribeWith(SubscribeOptions{User: user, Password: password, Filter: filter, QoS: qos})
}

// SubscribeOptions say how a Subscriber connects and what it subscribes to.
type SubscribeOptions struct {
	User, Password string
	Filter         string
	QoS            byte
	// ClientCert is presented to a broker that requires a certificate.
	ClientCert *KeyPair
	// Broker is the broker to subscribe at (nil: the pipeline's Broker),
	// e.g. its Peer.
	Broker *Mosquitto
}

// SubscribeWith subscribes as o says.
func (p *Pipeline) SubscribeWith(o SubscribeOptions) (*Subscriber, error) {
	user, password, filter, qos := o.User, o.Password, o.Filter, o.QoS
	tlsCfg := &tls.Config{RootCAs: p.PKI.Pool(), MinVersion: tls.VersionTLS12}
	if o.ClientCert != nil {
		pair, err := tls.LoadX509KeyPair(o.ClientCert.CertFile, o.ClientCert.KeyFile)
		if err != nil {
			return nil, err
		}
		tlsCfg.Certificates = []tls.Certificate{pair}
	}
	broker := p.Broker
	if o.Broker != nil {
		broker = o.Broker
	}
	u, _ := url.Parse("tls://" + broker.TLSAddr)
	s := &Subscriber{arrived: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		TlsCfg:                        tlsCfg,
		KeepAlive:                     30,
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              autopaho.NewConstantBackoff(50 * time.Millisecond),
		ConnectUsername:               user,
		ConnectPassword:               []byte(password),
		SessionExpiryInterval:         3600,
		// Subscribe again after a reconnect (the broker restarts in tests).
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			go cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
		},
		ClientConfig: paho.ClientConfig{
			ClientID: fmt.Sprintf("test-sub-%d", time.Now().UnixNano()),
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
				s.record(r.Packet)
				return true, nil
			}},
		},
	})
	if err != nil {
		cancel()
		return nil, err
	}
	s.cm = cm
	p.Env.onClose(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), time.Second)
		defer dcancel()
		_ = cm.Disconnect(dctx)
		cancel()
	})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := cm.AwaitConnection(wctx); err != nil {
		return nil, fmt.Errorf("subscriber: %w", err)
	}
	// Subscribe here as well, so that the subscription is in place when this
	// returns.
	_, err = cm.Subscribe(wctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
	return s, err
}

func (s *Subscriber) record(p *paho.Publish) {
	m := Message{Topic: p.Topic, Payload: p.Payload, QoS: p.QoS, Retain: p.Retain, ReceivedAt: time.Now(), UserProps: map[string]string{}}
	if p.Properties != nil {
		for _, u := range p.Properties.User {
			m.UserProps[u.Key] = u.Value
		}
		m.ContentType = p.Properties.ContentType
		if p.Properties.MessageExpiry != nil {
			m.MessageExpiry = *p.Properties.MessageExpiry
		}
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

// Subscribed says whether the subscription is in place now (the broker
// acknowledged it on the current connection).
func (s *Subscriber) Subscribed(filter string, qos byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.cm.AwaitConnection(ctx) != nil {
		return false
	}
	_, err := s.cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
	return err == nil
}

// Publish publishes payload on topic at QoS 1 from the subscriber's own
// connection, e.g. to see that a message reaches another broker.
func (s *Subscriber) Publish(ctx context.Context, topic string, payload []byte) error {
	_, err := s.cm.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
	return err
}

// Messages returns what arrived so far, in arrival order.
func (s *Subscriber) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits until done(messages so far) is true, or fails after
// timeout without any new message, saying how far it got.
func (s *Subscriber) WaitFor(stall time.Duration, done func([]Message) (bool, string)) error {
	timer := time.NewTimer(stall)
	defer timer.Stop()
	for {
		ok, progress := done(s.Messages())
		if ok {
			return nil
		}
		select {
		case <-s.arrived:
			timer.Reset(stall)
		case <-timer.C:
			return fmt.Errorf("nothing new for %s: %s", stall, progress)
		}
	}
}
