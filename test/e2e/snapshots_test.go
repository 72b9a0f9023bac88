package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// While a backlog drains, a tool's status snapshot waiting in the
// publisher is left out when a newer one comes (the README's "Why order
// holds"). What a subscriber of the status topics sees must still be in
// order per tool, never an older state after a newer one, and end on the
// state Redis holds; every event arrives in order and is acknowledged. The
// publisher's window is kept small so that snapshots do wait.
func TestABacklogsSnapshotsAreReplacedInOrderAndEndOnRedisState(t *testing.T) {
	t.Parallel()
	const tools, perTool = 20, 300
	p := startPipeline(t, harness.PipelineOptions{Publisher: []string{"-max-inflight", "20"}})
	events := subscribe(t, p, "nemo/tools/+/enabled")
	statuses := subscribe(t, p, "nemo/tools/+/status")
	rdb := p.Redis.Client(1)
	if err := harness.XAdd(context.Background(), rdb, "nemo:events", harness.Envelopes(harness.Events(tools*perTool, tools, 0))); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, events, tools, perTool, 60*time.Second)
	nothingPending(t, p)

	replaced, err := p.Publisher.Metric("nemo_publisher_messages_replaced_total")
	if err != nil {
		t.Fatal(err)
	}
	if replaced == 0 {
		t.Fatal("no snapshot was replaced: the backlog did not make them wait, and the test proves nothing")
	}
	eventually(t, 15*time.Second, func() error {
		last := map[string][]byte{}
		seq := map[string]string{}
		for _, m := range statuses.Messages() {
			var doc struct{ Sequence string }
			if err := json.Unmarshal(m.Payload, &doc); err != nil {
				return fmt.Errorf("status on %s is not JSON: %v", m.Topic, err)
			}
			if doc.Sequence < seq[m.Topic] {
				t.Fatalf("%s went back from %s to %s", m.Topic, seq[m.Topic], doc.Sequence)
			}
			seq[m.Topic], last[m.Topic] = doc.Sequence, m.Payload
		}
		for id := range tools {
			topic := "nemo/tools/" + strconv.Itoa(id) + "/status"
			held, err := rdb.HGet(context.Background(), "nemo:bridge:tools", strconv.Itoa(id)).Bytes()
			if err != nil {
				return err
			}
			if string(last[topic]) != string(held) {
				return fmt.Errorf("%s ends on %s; Redis holds %s", topic, last[topic], held)
			}
		}
		return nil
	})
	if n := len(statuses.Messages()); n >= tools*perTool {
		t.Errorf("%d snapshots for %d events: none left out", n, tools*perTool)
	}
	t.Logf("%d events, %d snapshots published, %.0f replaced", tools*perTool, len(statuses.Messages()), replaced)
}
