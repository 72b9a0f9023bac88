package chaos

import (
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// A hostile entry the bridge publishes on a tool's topic is not an event:
// counted as one, the drain ended one event early and reported as lost an
// event that was still on its way (seen once in CI).
func TestHostileMessagesDoNotCountAsDeliveredEvents(t *testing.T) {
	first := harness.TestEvent{ToolID: 0, Seq: 0}
	msgs := []harness.Message{
		{Topic: first.Topic(), Payload: first.Payload()},
		{Topic: "nemo/tools/1/enabled", Payload: []byte(`{"tool_id":99999999999999999999999}`)},
	}
	if harness.Distinct(msgs) != 2 {
		t.Fatal("the premise: two distinct messages")
	}
	if r := analyse(msgs, sent{good: 2}, 2); r.Delivered != 1 || r.Lost != 1 {
		t.Errorf("delivered %d, lost %d; want 1 and 1 while the second event is on its way", r.Delivered, r.Lost)
	}
}
