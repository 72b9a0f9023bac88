package router

import (
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
	eventID   string
	remaining int
	refusal   string
	reply     func(*bridgev1.EventAck)
}

func newTracker() *tracker { return &tracker{byMsg: map[string]*eventState{}} }

// track gives the messages of one event their ids and remembers them.
func (t *tracker) track(eventID string, msgs []*bridgev1.Message, reply func(*bridgev1.EventAck)) {
	st := &eventState{eventID: eventID, remaining: len(msgs), reply: reply}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range msgs {
		t.nextID++
		m.Id = strconv.FormatUint(t.nextID, 10)
		t.byMsg[m.Id] = st
	}
}

// settle records the broker's answer for one message.
func (t *tracker) settle(m *bridgev1.Message, r *publisherv1.PublishResult) (*bridgev1.EventAck, func(*bridgev1.EventAck)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.byMsg[m.GetId()]
	if !ok {
		return nil, nil
	}
	delete(t.byMsg, m.GetId())
	if r.GetError() != "" && st.refusal == "" {
		st.refusal = fmt.Sprintf("the broker refused the message on topic %q: %s", m.GetTopic(), r.GetError())
	}
	st.remaining--
	if st.remaining > 0 {
		return nil, nil
	}
	ack := &bridgev1.EventAck{EventId: st.eventID, Outcome: bridgev1.Outcome_OUTCOME_DELIVERED}
	if st.refusal != "" {
		ack.Outcome, ack.Code, ack.Reason = bridgev1.Outcome_OUTCOME_REJECTED, "publish_refused", st.refusal
	}
	return ack, st.reply
}
