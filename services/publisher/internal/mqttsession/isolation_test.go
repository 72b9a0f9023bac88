package mqttsession

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// send lets f through the gate and into the session as packet id.
func send(t *testing.T, iso *isolation, f *flight, id uint16) {
	t.Helper()
	since, err := iso.enter(t.Context(), f)
	if err != nil {
		t.Fatalf("%s: %v", f.pub.Topic, err)
	}
	if iso.added(id, f, since) {
		t.Fatalf("%s: withdrawn as soon as added", f.pub.Topic)
	}
}

// entering starts f through the gate; the channel gives what enter
// returned once it did.
func entering(iso *isolation, f *flight) <-chan entered {
	done := make(chan entered, 1)
	go func() {
		since, err := iso.enter(context.Background(), f)
		done <- entered{since, err}
	}()
	return done
}

type entered struct {
	since uint64
	err   error
}

func blocked(t *testing.T, what string, done <-chan entered) {
	t.Helper()
	select {
	case e := <-done:
		t.Fatalf("%s went through the gate (err %v), want it held", what, e.err)
	case <-time.After(50 * time.Millisecond):
	}
}

func passed(t *testing.T, what string, done <-chan entered) uint64 {
	t.Helper()
	select {
	case e := <-done:
		if e.err != nil {
			t.Fatalf("%s: %v", what, e.err)
		}
		return e.since
	case <-time.After(5 * time.Second):
		t.Fatalf("%s is still held at the gate", what)
	}
	return 0
}

// The bookkeeping from first loss to verdict: what was in flight at two
// consecutive losses is suspect and withdrawn; suspects go alone, one at a
// time, with everything else held; a suspect alone at a loss is poison,
// with the broker's words; the others are cleared by the broker's answer.
func TestSuspectsGoAloneAndPoisonIsTheOneAloneAtALoss(t *testing.T) {
	iso := newIsolation(quiet())
	msg := func(topic string) *paho.Publish { return &paho.Publish{Topic: topic, QoS: 1} }
	a, b, poison, c, d := msg("a"), msg("b"), msg("poison"), msg("c"), msg("d")
	fly := func(p *paho.Publish) *flight { return &flight{pub: p, owner: context.Background()} }

	iso.connected(false)
	fa, fb, fp := fly(a), fly(b), fly(poison)
	send(t, iso, fa, 1)
	send(t, iso, fb, 2)
	send(t, iso, fp, 3)
	if w := iso.lost(nil); len(w) != 0 {
		t.Fatalf("first loss withdrew %v, want nothing: one loss proves nothing", w)
	}
	iso.connected(true) // the session resends 1, 2 and 3
	iso.answered(1)     // a gets through
	if w := iso.lost(nil); len(w) != 2 {
		t.Fatalf("second loss withdrew %v, want b's and the poison's packets", w)
	}
	for _, f := range []*flight{fb, fp} {
		if !errors.Is(iso.outcome(f), errResendAlone) {
			t.Fatalf("%s: outcome %v, want errResendAlone", f.pub.Topic, iso.outcome(f))
		}
	}
	if iso.outcome(fa) != nil {
		t.Fatalf("a was answered, yet withdrawn: %v", iso.outcome(fa))
	}

	iso.connected(true)
	fc := fly(c)
	send(t, iso, fc, 4) // no suspect is waiting yet: c goes
	fb2 := fly(b)
	bPassed := entering(iso, fb2)
	blocked(t, "suspect b while c is in flight", bPassed)
	dPassed := entering(iso, fly(d))
	blocked(t, "d while suspect b waits", dPassed)
	iso.answered(4)
	iso.added(5, fb2, passed(t, "suspect b once nothing is in flight", bPassed))
	fp2 := fly(poison)
	pPassed := entering(iso, fp2)
	blocked(t, "suspect poison while b is alone", pPassed)
	blocked(t, "d while b is alone", dPassed)
	iso.answered(5) // b was not the cause
	iso.added(6, fp2, passed(t, "suspect poison once b is answered", pPassed))
	blocked(t, "d while the poison is alone", dPassed)

	dp := &packets.Disconnect{ReasonCode: 0x90, Properties: &packets.Properties{ReasonString: "too many topic levels"}}
	if w := iso.lost(dp); len(w) != 1 || w[0] != 6 {
		t.Fatalf("the loss with the poison alone withdrew %v, want its packet 6", w)
	}
	var verdict *BrokerDisconnectsError
	if !errors.As(iso.outcome(fp2), &verdict) || !verdict.Permanent() {
		t.Fatalf("poison's outcome %v, want a permanent *BrokerDisconnectsError", iso.outcome(fp2))
	}
	for _, want := range []string{"broker_disconnects", "0x90 (Topic Name invalid)", `"too many topic levels"`} {
		if !strings.Contains(verdict.Error(), want) {
			t.Errorf("verdict %q does not say %s", verdict, want)
		}
	}
	if e := <-dPassed; !errors.Is(e.err, session.ErrNoConnection) {
		t.Fatalf("d held at the gate when the connection was lost: %v, want ErrNoConnection", e.err)
	}
	iso.connected(true)
	send(t, iso, fly(d), 7) // nothing is suspect any more: everything flows
	if len(iso.suspects) != 0 {
		t.Fatalf("suspects left: %v", iso.suspects)
	}
}

// Only consecutive losses count: a loss with nothing in flight (here after
// the broker lost the session) clears the record.
func TestOnlyConsecutiveLossesMakeASuspect(t *testing.T) {
	iso := newIsolation(quiet())
	a := &paho.Publish{Topic: "a", QoS: 1}
	iso.connected(false)
	send(t, iso, &flight{pub: a, owner: context.Background()}, 1)
	iso.lost(nil)
	iso.connected(false) // no session present: the state forgets packet 1
	iso.lost(nil)
	iso.connected(true)
	send(t, iso, &flight{pub: a, owner: context.Background()}, 2)
	if w := iso.lost(nil); len(w) != 0 {
		t.Fatalf("withdrew %v; a was not in flight at the loss before", w)
	}
}

// A suspect whose caller gave up is forgotten: nothing waits for it.
func TestASuspectIsForgottenWhenItsCallerGivesUp(t *testing.T) {
	iso := newIsolation(quiet())
	a := &paho.Publish{Topic: "a", QoS: 1}
	owner, giveUp := context.WithCancel(context.Background())
	iso.connected(false)
	for id := range uint16(2) {
		send(t, iso, &flight{pub: a, owner: owner}, id+1)
		iso.lost(nil)
		iso.connected(true)
	}
	iso.mu.Lock()
	_, suspect := iso.suspects[a]
	iso.mu.Unlock()
	if !suspect {
		t.Fatal("a is not a suspect after two losses in flight")
	}
	giveUp()
	deadline := time.Now().Add(5 * time.Second)
	for {
		iso.mu.Lock()
		_, suspect = iso.suspects[a]
		iso.mu.Unlock()
		if !suspect {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a is still a suspect after its caller gave up")
		}
		time.Sleep(time.Millisecond)
	}
}

// The mechanism in paho's own session state: a withdrawn PUBLISH is not
// resent at the next connection, and its caller gets its answer.
func TestWithdrawnMessagesAreNotResent(t *testing.T) {
	w := newWatchedState(newIsolation(quiet()))
	var wire bytes.Buffer
	expiry := uint32(600) // the session outlives the connection
	connect := func(present bool) {
		t.Helper()
		wire.Reset()
		cp := &packets.Connect{Properties: &packets.Properties{SessionExpiryInterval: &expiry}}
		if err := w.ConAckReceived(&wire, cp, &packets.Connack{SessionPresent: present}); err != nil {
			t.Fatal(err)
		}
	}
	resent := func() (topics []string) {
		for wire.Len() > 0 {
			cp, err := packets.ReadPacket(&wire)
			if err != nil {
				t.Fatal(err)
			}
			if p, ok := cp.Content.(*packets.Publish); ok {
				topics = append(topics, p.Topic)
			}
		}
		return topics
	}

	connect(false)
	answers := map[string]chan packets.ControlPacket{}
	for _, topic := range []string{"good", "poison"} {
		answers[topic] = make(chan packets.ControlPacket, 1)
		f := &flight{pub: &paho.Publish{Topic: topic, QoS: 1}, owner: context.Background()}
		pkt := &packets.Publish{Topic: topic, QoS: 1, Properties: &packets.Properties{}}
		if err := w.AddToSession(context.WithValue(t.Context(), flightKey{}, f), pkt, answers[topic]); err != nil {
			t.Fatal(err)
		}
	}
	_ = w.ConnectionLost(nil)
	connect(true)
	if got := resent(); len(got) != 2 {
		t.Fatalf("resent %v after the first loss, want both messages", got)
	}
	_ = w.ConnectionLost(nil) // both were in flight twice: withdrawn
	for topic, answer := range answers {
		select {
		case cp := <-answer:
			if ack, ok := cp.Content.(*packets.Puback); !ok || ack.ReasonCode < 0x80 {
				t.Fatalf("%s: its caller got %v, want a failed PUBACK", topic, cp.Content)
			}
		default:
			t.Fatalf("%s: its caller got no answer", topic)
		}
	}
	connect(true)
	if got := resent(); len(got) != 0 {
		t.Fatalf("resent %v, want nothing: the withdrawn messages left the session", got)
	}
}

// Between the gate and the session: a suspect waits for a publish that
// passed the gate before it, and a suspect whose connection is lost on its
// way into the session is withdrawn at once, not resent with the others.
func TestTheWayFromTheGateIntoTheSession(t *testing.T) {
	iso := newIsolation(quiet())
	a, s := &paho.Publish{Topic: "a", QoS: 1}, &paho.Publish{Topic: "suspect", QoS: 1}
	iso.connected(false)
	for id := range uint16(2) {
		send(t, iso, &flight{pub: s, owner: context.Background()}, id+1)
		iso.lost(nil)
		iso.connected(true)
	}
	fa := &flight{pub: a, owner: context.Background()}
	sinceA, err := iso.enter(t.Context(), fa) // passed, not in the session yet
	if err != nil {
		t.Fatal(err)
	}
	fs := &flight{pub: s, owner: context.Background()}
	sPassed := entering(iso, fs)
	blocked(t, "the suspect while a passes into the session", sPassed)
	iso.added(3, fa, sinceA)
	iso.answered(3)
	since := passed(t, "the suspect once a is answered", sPassed)
	iso.lost(nil)
	iso.connected(true)
	if !iso.added(4, fs, since) || !errors.Is(iso.outcome(fs), errResendAlone) {
		t.Fatalf("the suspect got into the session after its connection was lost (outcome %v), want it withdrawn to go alone again", iso.outcome(fs))
	}
}

// A suspect taken out of the session takes the other messages of its tool
// still there with it: the reconnect would resend them ahead of it, and a
// subscriber would see the tool's 50 before its 49. Another tool's message
// stays for the session to resend.
func TestASuspectTakesItsToolsOtherMessagesOut(t *testing.T) {
	iso := newIsolation(quiet())
	fly := func(topic, key string) *flight {
		return &flight{pub: &paho.Publish{Topic: topic, QoS: 1}, key: key, owner: context.Background()}
	}
	iso.connected(false)
	f48, f49 := fly("tool 9: 48", "tool:9"), fly("tool 9: 49", "tool:9")
	send(t, iso, f48, 1)
	send(t, iso, f49, 2)
	iso.lost(nil)
	iso.connected(true) // the session resends 48 and 49
	f50, other := fly("tool 9: 50", "tool:9"), fly("tool 3: 7", "tool:3")
	send(t, iso, f50, 3)
	send(t, iso, other, 4)
	iso.answered(1) // 48 gets through; 49, 50 and tool 3's are in flight at the loss
	w := iso.lost(nil)
	if len(w) != 2 {
		t.Fatalf("withdrew packets %v, want 49's (the suspect) and 50's (behind it)", w)
	}
	if !errors.Is(iso.outcome(f49), errResendAlone) || !errors.Is(iso.outcome(f50), errResendBehind) {
		t.Fatalf("49: %v, 50: %v; want errResendAlone and errResendBehind", iso.outcome(f49), iso.outcome(f50))
	}
	if iso.outcome(other) != nil {
		t.Fatalf("another tool's message was taken out: %v", iso.outcome(other))
	}
}

// A message of a tool that passed the gate before a loss, and got into the
// session only after it, is withdrawn when that loss took an earlier message
// of its tool out: lost did not see it, and the reconnect would resend it
// ahead of the one taken out (subscribers saw a tool's 52 before its 50).
// Another tool's message in the same place stays for the session to resend.
func TestAMessageOnItsWayIntoTheSessionAtALossFollowsItsToolOut(t *testing.T) {
	iso := newIsolation(quiet())
	fly := func(topic, key string) *flight {
		return &flight{pub: &paho.Publish{Topic: topic, QoS: 1}, key: key, owner: context.Background()}
	}
	iso.connected(false)
	f50 := fly("tool 5: 50", "tool:5")
	send(t, iso, f50, 1)
	iso.lost(nil)
	iso.connected(true) // the session resends 50
	f51, other := fly("tool 5: 51", "tool:5"), fly("tool 3: 7", "tool:3")
	since51, err := iso.enter(t.Context(), f51)
	if err != nil {
		t.Fatal(err)
	}
	sinceOther, err := iso.enter(t.Context(), other)
	if err != nil {
		t.Fatal(err)
	}
	if w := iso.lost(nil); len(w) != 1 || !errors.Is(iso.outcome(f50), errResendAlone) {
		t.Fatalf("withdrew %v, 50: %v; want 50 taken out as a suspect", w, iso.outcome(f50))
	}
	if !iso.added(2, f51, since51) || !errors.Is(iso.outcome(f51), errResendBehind) {
		t.Fatalf("51 got into the session after the loss that took 50 out (outcome %v), want it withdrawn to go after 50", iso.outcome(f51))
	}
	if iso.added(3, other, sinceOther) || iso.outcome(other) != nil {
		t.Fatalf("another tool's message was withdrawn: %v", iso.outcome(other))
	}
}
