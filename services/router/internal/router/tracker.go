package router

import (
	"cmp"
	"fmt"
	"strconv"
	"sync"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
)

// tracker remembers, for every message handed to the publisher, the event it
// came from, and acknowledges the event once all its messages are settled.
type tracker struct {
	mu     sync.Mutex
	nextID uint64
	byMsg  map[string]*eventState
}

type eventState struct {
	// ack is the answer once every message is settled: delivered, unless
	// the event was refused already or the broker refuses a message.
	ack *bridgev1.EventAck
	// remaining counts the messages not settled yet, and one more while
	// the event is held (see hold).
	remaining int
	sent      bool // whether the event had a message
	reply     func(*bridgev1.EventAck)
	// stamp says when the messages went to the publisher.
	stamp *submitStamp
}

// submitStamp is shared by the events of one Route batch: when their
// messages were handed to the publisher link, for the latency metrics.
// Guarded by the tracker's mutex.
type submitStamp struct {
	at time.Time
}

func newTracker() *tracker { return &tracker{byMsg: map[string]*eventState{}} }

// track gives the messages of one event their ids and remembers them, with
// the event's answer so far.
func (t *tracker) track(ack *bridgev1.EventAck, msgs []*bridgev1.Message, reply func(*bridgev1.EventAck), stamp *submitStamp) {
	st := &eventState{ack: ack, remaining: len(msgs), sent: len(msgs) > 0, reply: reply, stamp: stamp}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(st, msgs)
}

// hold is track for the first of an event's messages (there may be none):
// the event is not answered, even once they are settled, until release
// brings the rest.
func (t *tracker) hold(ack *bridgev1.EventAck, msgs []*bridgev1.Message, reply func(*bridgev1.EventAck), stamp *submitStamp) *eventState {
	st := &eventState{ack: ack, remaining: len(msgs) + 1, sent: len(msgs) > 0, reply: reply, stamp: stamp}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(st, msgs)
	return st
}

// release adds the last of a held event's messages (there may be none).
// When nothing of the event is left to settle it returns, as settle does,
// the answer, where it goes and when its messages went to the publisher,
// and whether the event had any message.
func (t *tracker) release(st *eventState, msgs []*bridgev1.Message) (*bridgev1.EventAck, func(*bridgev1.EventAck), time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(st, msgs)
	st.remaining += len(msgs) - 1
	st.sent = st.sent || len(msgs) > 0
	if st.remaining > 0 {
		return nil, nil, time.Time{}, false
	}
	return st.ack, st.reply, st.stamp.at, st.sent
}

// add gives msgs their ids and files them under st; t.mu is held.
func (t *tracker) add(st *eventState, msgs []*bridgev1.Message) {
	for _, m := range msgs {
		t.nextID++
		m.Id = strconv.FormatUint(t.nextID, 10)
		t.byMsg[m.Id] = st
	}
}

// submitted records when the messages of the batch stamped st went to
// the publisher, before they go.
func (t *tracker) submitted(st *submitStamp, at time.Time) {
	t.mu.Lock()
	st.at = at
	t.mu.Unlock()
}

// settle records the broker's answer for one message. The first refusal
// of an event is the one it is answered with. Once every message of the
// event is settled it returns the event's answer, where it goes, and
// when its messages went to the publisher.
func (t *tracker) settle(m *bridgev1.Message, r *publisherv1.PublishResult) (*bridgev1.EventAck, func(*bridgev1.EventAck), time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.byMsg[m.GetId()]
	if !ok {
		return nil, nil, time.Time{}
	}
	delete(t.byMsg, m.GetId())
	if r.GetOutcome() != bridgev1.Outcome_OUTCOME_DELIVERED && st.ack.GetOutcome() != bridgev1.Outcome_OUTCOME_REJECTED {
		st.ack.Outcome = bridgev1.Outcome_OUTCOME_REJECTED
		st.ack.Cause = cmp.Or(r.GetCause(), bridgev1.Cause_CAUSE_PUBLISH_REFUSED)
		st.ack.Reason = fmt.Sprintf("the message on topic %q could not be published: %s", m.GetTopic(), r.GetReason())
	}
	st.remaining--
	if st.remaining > 0 {
		return nil, nil, time.Time{}
	}
	return st.ack, st.reply, st.stamp.at
}
