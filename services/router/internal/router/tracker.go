package router

import (
	"cmp"
	"fmt"
	"strconv"
	"sync"

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
	ack       *bridgev1.EventAck
	remaining int
	reply     func(*bridgev1.EventAck)
}

func newTracker() *tracker { return &tracker{byMsg: map[string]*eventState{}} }

// track gives the messages of one event their ids and remembers them, with
// the event's answer so far.
func (t *tracker) track(ack *bridgev1.EventAck, msgs []*bridgev1.Message, reply func(*bridgev1.EventAck)) {
	st := &eventState{ack: ack, remaining: len(msgs), reply: reply}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range msgs {
		t.nextID++
		m.Id = strconv.FormatUint(t.nextID, 10)
		t.byMsg[m.Id] = st
	}
}

// settle records the broker's answer for one message. The first refusal
// of an event is the one it is answered with.
func (t *tracker) settle(m *bridgev1.Message, r *publisherv1.PublishResult) (*bridgev1.EventAck, func(*bridgev1.EventAck)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.byMsg[m.GetId()]
	if !ok {
		return nil, nil
	}
	delete(t.byMsg, m.GetId())
	if r.GetOutcome() != bridgev1.Outcome_OUTCOME_DELIVERED && st.ack.GetOutcome() != bridgev1.Outcome_OUTCOME_REJECTED {
		st.ack.Outcome = bridgev1.Outcome_OUTCOME_REJECTED
		st.ack.Cause = cmp.Or(r.GetCause(), bridgev1.Cause_CAUSE_PUBLISH_REFUSED)
		st.ack.Reason = fmt.Sprintf("the message on topic %q could not be published: %s", m.GetTopic(), r.GetReason())
	}
	st.remaining--
	if st.remaining > 0 {
		return nil, nil
	}
	return st.ack, st.reply
}
