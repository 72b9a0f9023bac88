package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// A backlog of large events (60 KB payloads, under the 64 KiB limit) goes
// through every hop whole. A batch of them is far over gRPC's 4 MiB message
// limit: each hop sends it in parts. Before, the router refused the one
// big message, ingest resent its whole window as one message again, and
// nothing more was ever delivered.
func TestABacklogOfLargeEventsIsDelivered(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	sub, err := p.Subscribe("nemo/tools/+/enabled")
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	blob := strings.Repeat("x", 60_000)
	var events []string
	for i := range n {
		payload, _ := json.Marshal(map[string]any{"event": "tool_enabled", "tool_id": i % 5, "seq": i, "notes": blob})
		env, _ := json.Marshal(map[string]any{"topic": fmt.Sprintf("nemo/tools/%d/enabled", i%5), "payload": string(payload), "qos": 1})
		events = append(events, string(env))
	}
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", events); err != nil {
		t.Fatal(err)
	}
	err = sub.WaitFor(90*time.Second, func(msgs []harness.Message) (bool, string) {
		seen := map[int]bool{}
		for _, m := range msgs {
			var body struct{ Seq int }
			if json.Unmarshal(m.Payload, &body) == nil {
				seen[body.Seq] = true
			}
		}
		return len(seen) == n, fmt.Sprintf("%d of %d large events delivered", len(seen), n)
	})
	if err != nil {
		t.Fatal(err)
	}
}
