package mqttsession

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/tlsdiag"
)

// State is what health and status report about the session.
type State struct {
	Connected bool
	Since     time.Time // when the session last went up or down
	LastError string    // why the last connection attempt failed, if it did
	// Broker is the broker connected to, as configured with its password
	// as xxxxx; empty while not connected.
	Broker string
}

// Session is the live connection manager plus its state.
type Session struct {
	*autopaho.ConnectionManager
	cfg     Config
	log     *slog.Logger
	started time.Time

	// brokers are -mqtt-url's, and which of them is tried or connected.
	brokers *brokerList

	mu      sync.Mutex
	current State
	// problems is why each broker refused the connection at its last
	// attempt since the session was last up, by index in brokers.
	problems  map[int]string
	watch     func(State)
	listeners listeners

	// renew reconnects when the TLS files are renewed (reload.go).
	renew *tlsWatch
	// isolation finds a message after which the broker drops the
	// connection (isolation.go).
	isolation *isolation
	// state is the session state paho keeps, watched (sessionstate.go).
	state *watchedState
}

// Start begins connecting in the background and returns at once; the
// session reconnects with backoff until ctx is cancelled. watch is told of
// every change of state.
func Start(ctx context.Context, c Config, log *slog.Logger, watch func(State)) (*Session, error) {
	brokers, err := c.checkedBrokers()
	if err != nil {
		return nil, err
	}
	s := &Session{cfg: c, log: log, watch: watch, started: time.Now().UTC(), isolation: newIsolation(log), brokers: brokers, problems: map[int]string{}}
	s.state = newWatchedState(s.isolation)
	s.current = State{Since: time.Now()}
	s.renew = newTLSWatch(c, log, func() bool { return s.State().Connected })
	cfg := c.clientConfig(brokers, log, s.renew, s.state)
	cfg.SessionExpiryInterval = uint32(c.SessionExpiry / time.Second)
	cfg.WillMessage, cfg.WillProperties = c.will()
	cfg.OnConnectionUp = func(cm *autopaho.ConnectionManager, ack *paho.Connack) {
		b, _ := brokers.current()
		log.Info("connected to MQTT broker", "broker", b.logged(), "session_present", ack.SessionPresent)
		s.set(State{Connected: true, Since: time.Now(), Broker: b.shown})
		go func() { // OnConnectionUp must not block
			if err := s.announce(ctx, cm, bridgeStatus{State: "online", Version: c.Version, StartedAt: s.started}); err != nil {
				log.Warn("could not announce online status", "topic", c.StatusTopic, "err", err)
			}
		}()
	}
	cfg.OnConnectionDown = func() bool {
		b, _ := brokers.current()
		log.Warn("connection to MQTT broker lost; reconnecting", "broker", b.logged())
		s.set(State{Connected: false, Since: time.Now()})
		return true
	}
	cfg.OnConnectError = func(err error) {
		b, i := brokers.current()
		problem := tlsdiag.Explain(ctx, err, c.target(b))
		log.Warn("cannot connect to MQTT broker", "broker", b.logged(), "problem", problem, "err", err)
		s.fail(i, problem)
	}
	cfg.ClientConfig = paho.ClientConfig{ClientID: c.ClientID,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){s.listeners.received},
		Session:           s.state}
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("MQTT connection to %s: %w", c.Broker(), err)
	}
	s.ConnectionManager = cm
	s.renew.start(ctx, brokers)
	return s, nil
}

// Publish publishes p and waits for the broker's answer, as autopaho's
// Publish does. Pass the same p to every attempt to publish one message:
// the session knows a message after which the broker keeps dropping the
// connection by it (see isolation). Such a message fails with a
// *BrokerDisconnectsError; one merely suspected of it fails with an error
// to retry, and the retry is sent alone.
func (s *Session) Publish(ctx context.Context, p *paho.Publish) (*paho.PublishResponse, error) {
	f := &flight{pub: p, owner: ctx}
	resp, err := s.ConnectionManager.Publish(context.WithValue(ctx, flightKey{}, f), p)
	if err != nil {
		if why := s.isolation.outcome(f); why != nil {
			return nil, why
		}
	}
	return resp, err
}

// State returns the session's current state.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

func (s *Session) set(st State) {
	s.mu.Lock()
	s.current = st
	if st.Connected {
		clear(s.problems)
	}
	s.mu.Unlock()
	s.watch(st)
}

// fail records why the last connection attempt, to the broker at index i
// of the brokers, failed, in words. With several brokers, LastError says
// why each of them failed at its last attempt, each after its URL.
func (s *Session) fail(i int, problem string) {
	s.mu.Lock()
	st := s.current
	if st.Connected {
		st = State{Since: time.Now()}
	}
	st.LastError = problem
	if all := s.brokers.all; len(all) > 1 {
		s.problems[i] = problem
		var words []string
		for j, b := range all {
			if p, ok := s.problems[j]; ok {
				words = append(words, b.shown+": "+p)
			}
		}
		st.LastError = strings.Join(words, " ")
	}
	s.current = st
	s.mu.Unlock()
	s.watch(st)
}
