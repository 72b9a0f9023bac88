package e2e

import (
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
