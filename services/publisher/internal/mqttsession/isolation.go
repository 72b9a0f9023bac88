package mqttsession

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

// Some brokers answer a message they will not take by dropping the
// connection instead of sending a negative PUBACK: mosquitto does for some
// topics, a cloud broker for a topic over its level limit. The session
// resends every unacknowledged PUBLISH at each reconnect (MQTT 5 §4.4), so
// such a message would bring every new connection down at once, and
// nothing of any tool would get through again. The isolation finds such a
// message from what is in flight each time the connection is lost:
//
//   - a message in flight at two consecutive losses is a suspect: it is
//     taken out of the session, so that the reconnect does not resend it
//     with the others, and it is answered with errResendAlone (the
//     pipeline sends it and the rest of its tool again, in order);
//   - a suspect is published alone: it waits until nothing else is in
//     flight, and nothing else is published until the broker answered it
//     (it is then cleared) or the connection is lost;
//   - a suspect alone in flight at a loss is poison: it is taken out of the
//     session for good and its Publish fails with a *BrokerDisconnectsError,
//     which sends it to the dead letters.
//
// A message is known across its attempts by its *paho.Publish: a
// pipeline passes the same one to every attempt.
type isolation struct {
	log *slog.Logger

	mu sync.Mutex
	// changed is closed, and replaced, whenever the gate may open for one
	// of the held publishes.
	changed chan struct{}
	held    int
	// up is whether a connection is up; losses counts the losses so far.
	up     bool
	losses uint64
	// inflight is every PUBLISH in the session by packet identifier;
	// passing counts those let through the gate and not in it yet.
	inflight packetTable[*flight]
	passing  int
	// previous is what was in flight at the last loss; taken, the ordering
	// keys of the messages it took out of the session.
	previous map[*paho.Publish]bool
	taken    map[string]bool
	// suspects stops, for each suspect, the watch on its caller's context
	// that forgets it once its caller gives up.
	suspects map[*paho.Publish]func() bool
	// alone is the suspect let through the gate, nil when none is;
	// waiting counts the suspects waiting at the gate.
	alone   *paho.Publish
	waiting int
}

// flight is one Publish call, whose packet goes into the session.
type flight struct {
	// pub is the message, nil for one the isolation does not watch (the
	// bridge's status announcement, which nobody retries).
	pub *paho.Publish
	// key is its ordering key, "" when it has none.
	key string
	// owner is the caller's context: a suspect is forgotten when it ends.
	owner context.Context
	// withdrawn is why the packet was taken out of the session, if it was.
	withdrawn error
	// answer, for a message sent through Send, is told the broker's answer
	// once, or why none will come.
	answer func(error)
}

// errResendAlone fails the Publish of a new suspect; the caller's retry is
// sent alone.
var errResendAlone = errors.New("the broker dropped the connection twice with this message in flight; it is sent again alone")

// errResendBehind fails a message taken out of the session because an
// earlier one of its key was: the reconnect would resend it ahead of that
// one, which the pipeline sends again first.
var errResendBehind = errors.New("an earlier message of its tool was taken out of the session; it is sent again after that one")

// BrokerDisconnectsError is the verdict on a message after which the broker
// drops the connection, also when nothing else is in flight: the broker
// will not take it, and no retry can change that.
type BrokerDisconnectsError struct {
	Topic string
	// Disconnect is the DISCONNECT packet the broker sent at the last drop,
	// nil when it just closed the connection.
	Disconnect *packets.Disconnect
}

func (e *BrokerDisconnectsError) Error() string {
	return fmt.Sprintf("broker_disconnects: the broker dropped the connection each time this message was in flight, the last time with nothing else in flight; %s", brokerWords(e.Disconnect))
}

// Permanent tells the pipeline that no retry can change the outcome.
func (e *BrokerDisconnectsError) Permanent() bool { return true }

// Cause is why the message goes to the dead letters.
func (e *BrokerDisconnectsError) Cause() bridgev1.Cause {
	return bridgev1.Cause_CAUSE_BROKER_DISCONNECTS
}

// brokerWords says what the broker said when it dropped the connection.
func brokerWords(dp *packets.Disconnect) string {
	if dp == nil {
		return "the broker gave no reason (no DISCONNECT packet)"
	}
	name, _, _ := strings.Cut(dp.Reason(), " - ")
	if name == "" {
		name = "unknown reason"
	}
	words := fmt.Sprintf("the broker said: reason code 0x%02X (%s)", dp.ReasonCode, name)
	if dp.Properties != nil && dp.Properties.ReasonString != "" {
		words += fmt.Sprintf(", %q", dp.Properties.ReasonString)
	}
	return words
}

func newIsolation(log *slog.Logger) *isolation {
	return &isolation{
		log:      log,
		changed:  make(chan struct{}),
		suspects: map[*paho.Publish]func() bool{},
	}
}

// notify wakes the publishes held at the gate, if any; s.mu is held.
func (s *isolation) notify() {
	if s.held > 0 {
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// enter waits until f may go into the session: a suspect once nothing else
// is in flight (it is then alone), anything else while no suspect is alone
// or waiting. It returns the number of losses so far, for added.
func (s *isolation) enter(ctx context.Context, f *flight) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, suspect := s.suspects[f.pub]
	if suspect {
		s.waiting++
		defer func() { s.waiting--; s.notify() }()
	}
	for {
		if !s.up {
			return 0, session.ErrNoConnection
		}
		if suspect && s.alone == nil && s.inflight.len() == 0 && s.passing == 0 {
			s.alone = f.pub
			s.passing++
			s.log.Info("sending a suspect message alone", "event_id", eventID(f.pub), "topic", f.pub.Topic)
			return s.losses, nil
		}
		if !suspect && s.alone == nil && s.waiting == 0 {
			s.passing++
			return s.losses, nil
		}
		changed := s.changed
		s.held++
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
		}
		s.mu.Lock()
		s.held--
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

// added records that f's packet went into the session as packet id; since
// is what enter returned. It reports whether the packet must be withdrawn
// at once, when the connection was lost since it passed the gate (so that
// lost did not see it) and the reconnect would otherwise resend it with
// the others: a suspect (lost then ended its turn alone), or a message of
// a tool whose earlier message lost took out (it would reach the broker
// ahead of that one).
func (s *isolation) added(id uint16, f *flight, since uint64) (withdraw bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.passing--
	if since != s.losses {
		if _, suspect := s.suspects[f.pub]; suspect {
			f.withdrawn = errResendAlone
		} else if f.key != "" && s.taken[f.key] {
			f.withdrawn = errResendBehind
		}
		if f.withdrawn != nil {
			s.notify()
			return true
		}
	}
	s.inflight.put(id, f)
	return false
}

// failed records that f, let through the gate, never got into the session.
func (s *isolation) failed(f *flight) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.passing--
	if s.alone == f.pub && f.pub != nil {
		s.alone = nil
	}
	s.notify()
}

// answered records the broker's answer (PUBACK, or PUBREC for QoS 2) to
// packet id: the broker took the PUBLISH, or refused it in words.
func (s *isolation) answered(id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.inflight.take(id)
	if !ok {
		return
	}
	if stop, ok := s.suspects[f.pub]; ok {
		stop()
		delete(s.suspects, f.pub)
		s.log.Info("the broker answered the suspect message sent alone: it was not the cause of the dropped connections", "event_id", eventID(f.pub), "topic", f.pub.Topic)
	}
	if s.alone == f.pub {
		s.alone = nil
	}
	s.notify()
}

// connected records a new connection. Without a session present the
// session state is cleaned, and nothing of it is in flight any more.
func (s *isolation) connected(sessionPresent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.up = true
	if !sessionPresent {
		s.inflight.clear()
	}
	s.notify()
}

// lost records the loss of the connection, with the broker's DISCONNECT
// packet when it sent one, and returns the packets to withdraw from the
// session, each flight's withdrawn set to why. A second report of the same
// loss (paho reports a DISCONNECT, then the closed connection) changes
// nothing.
func (s *isolation) lost(dp *packets.Disconnect) []uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.up {
		return nil
	}
	s.up = false
	s.losses++
	defer s.notify()

	inFlight := map[*paho.Publish][]uint16{}
	for id, f := range s.inflight.all() {
		if f.pub != nil {
			inFlight[f.pub] = append(inFlight[f.pub], id)
		}
	}
	var withdraw []uint16
	taken := map[string]bool{} // the keys of the messages taken out
	take := func(pub *paho.Publish, why error) {
		for _, id := range inFlight[pub] {
			f, _ := s.inflight.take(id)
			if f.key != "" {
				taken[f.key] = true
			}
			f.withdrawn = why
			withdraw = append(withdraw, id)
		}
		delete(inFlight, pub)
	}
	if alone := s.alone; alone != nil && inFlight[alone] != nil {
		if stop, ok := s.suspects[alone]; ok {
			s.log.Error("the broker dropped the connection again while this message was the only one in flight: it will not take it, so it goes to the dead letters",
				"event_id", eventID(alone), "topic", alone.Topic, "broker_said", brokerWords(dp))
			stop()
			delete(s.suspects, alone)
			take(alone, &BrokerDisconnectsError{Topic: alone.Topic, Disconnect: dp})
		} else {
			// Its caller gave up on it (forget): nobody waits for a verdict,
			// and the session must not resend it either.
			take(alone, errResendAlone)
		}
	}
	s.alone = nil
	current := map[*paho.Publish]bool{}
	n := len(inFlight)
	for pub, ids := range inFlight {
		current[pub] = true
		if _, suspect := s.suspects[pub]; suspect || !s.previous[pub] {
			continue
		}
		s.log.Warn("the broker dropped the connection twice with this message in flight: it is taken out of the session and sent again alone, to find out whether it is the cause",
			"event_id", eventID(pub), "topic", pub.Topic, "in_flight", n, "broker_said", brokerWords(dp))
		s.suspects[pub] = context.AfterFunc(s.flightOf(ids[0]).owner, func() { s.forget(pub) })
		take(pub, errResendAlone)
	}
	// The reconnect would resend what stays in the session ahead of what
	// was taken out: a later message of a taken one's tool would reach the
	// broker before it. It goes out too, and the pipeline sends the tool's
	// messages again in order (an earlier one goes too: the pipeline
	// rewinds from the earliest answer it gets).
	for pub, ids := range inFlight {
		if taken[s.flightOf(ids[0]).key] {
			take(pub, errResendBehind)
		}
	}
	s.previous, s.taken = current, taken
	return withdraw
}

// flightOf is the flight in the session as packet id; s.mu is held.
func (s *isolation) flightOf(id uint16) *flight {
	f, _ := s.inflight.get(id)
	return f
}

// forget drops a suspect whose caller gave up on it (its stream ended):
// nobody will send it again.
func (s *isolation) forget(pub *paho.Publish) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.suspects, pub)
}

// outcome is why f's packet was withdrawn from the session, nil if it was
// not.
func (s *isolation) outcome(f *flight) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f.withdrawn
}

// eventID is the id of the event a message comes from, as the router sets
// it in a user property.
func eventID(p *paho.Publish) string {
	if p.Properties == nil {
		return ""
	}
	return p.Properties.User.Get("event_id")
}
