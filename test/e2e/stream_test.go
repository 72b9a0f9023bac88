package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

func TestStreamDeliversEveryEventInOrderPerTool(t *testing.T) {
	t.Parallel()
	const tools, perTool = 50, 200
	p := startPipeline(t, harness.PipelineOptions{})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	evs := harness.Events(tools*perTool, tools, 0)
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", harness.Envelopes(evs)); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 60*time.Second)

	want := map[string][]byte{}
	for _, e := range evs {
		want[e.Topic()+string(e.Payload())] = e.Payload()
	}
	for _, m := range sub.Messages() {
		if _, ok := want[m.Topic+string(m.Payload)]; !ok {
			t.Fatalf("unexpected message on %s: %s", m.Topic, m.Payload)
		}
		if m.QoS != 1 || m.Retain || m.UserProps["event_id"] == "" {
			t.Fatalf("message on %s: qos %d retain %v event_id %q; want qos 1, not retained, an event_id", m.Topic, m.QoS, m.Retain, m.UserProps["event_id"])
		}
	}
	nothingPending(t, p)
}

// NEMO writes the envelope as JSON in field "event" or as the entry's own
// fields; one stream may hold both, and neither form may overtake the
// other.
func TestStreamEntriesOfBothFormsKeepOrder(t *testing.T) {
	t.Parallel()
	const tools, perTool = 10, 30
	p := startPipeline(t, harness.PipelineOptions{})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	rdb := p.Redis.Client(1)
	for i, e := range harness.Events(tools*perTool, tools, 0) {
		entry := []any{"event", e.Envelope()}
		if i%2 == 1 {
			entry = e.Fields()
		}
		if err := harness.XAddFields(ctx(t), rdb, "nemo:events", [][]any{entry}); err != nil {
			t.Fatal(err)
		}
	}
	waitInOrder(t, sub, tools, perTool, 30*time.Second)
	for _, m := range sub.Messages() {
		var e harness.TestEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil || string(m.Payload) != string(e.Payload()) || m.Topic != e.Topic() {
			t.Fatalf("on %s got %s, not the payload written", m.Topic, m.Payload)
		}
	}
	nothingPending(t, p)
}
