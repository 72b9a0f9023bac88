package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// rulesWithExpiry sends tool_enabled events to the displays as well, with
// a day's message expiry, and everything on the plugin's topic without.
const rulesWithExpiry = `version: 1
rules:
  - name: displays
    match: {event: tool_enabled}
    publish:
      - topic: "displays/{tool_id}"
        qos: 1
        expiry: 24h
    continue: true
  - name: plugin-topics
    publish:
      - topic: "{prefix}{topic}"
`

// A rule's expiry reaches subscribers as the MQTT v5 Message Expiry
// Interval (the broker passes on the seconds left), with the content type
// application/json and the event's id as the user property event_id, the
// same on every message an event produced; a message without expiry has
// none.
func TestRuleExpiryContentTypeAndEventIDReachSubscribers(t *testing.T) {
	t.Parallel()
	const tools, perTool = 3, 4
	path := filepath.Join(t.TempDir(), "rules.yaml")
	replaceFile(t, path, rulesWithExpiry)
	p := startPipeline(t, harness.PipelineOptions{Router: []string{"-rules", path}})
	displays := subscribe(t, p, "displays/#")
	plugin := subscribe(t, p, "nemo/tools/+/enabled")
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", harness.Envelopes(harness.Events(tools*perTool, tools, 0))); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, plugin, tools, perTool, 30*time.Second)
	if err := displays.WaitFor(30*time.Second, func(msgs []harness.Message) (bool, string) {
		return harness.Distinct(msgs) >= tools*perTool, fmt.Sprintf("%d of %d on displays/#", harness.Distinct(msgs), tools*perTool)
	}); err != nil {
		t.Fatal(err)
	}

	const day = 24 * 60 * 60
	// event_id of each event, by tool and sequence number, from the
	// plugin's topic.
	ids := map[[2]int]string{}
	for _, m := range plugin.Messages() {
		var e harness.TestEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatal(err)
		}
		if m.MessageExpiry != 0 || m.ContentType != "application/json" || m.UserProps["event_id"] == "" {
			t.Errorf("%s: expiry %d, content type %q, event_id %q; want no expiry, application/json and an event_id", m.Topic, m.MessageExpiry, m.ContentType, m.UserProps["event_id"])
		}
		ids[[2]int{e.ToolID, e.Seq}] = m.UserProps["event_id"]
	}
	for i, m := range displays.Messages() {
		var e harness.TestEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("displays/%d", e.ToolID); m.Topic != want {
			t.Errorf("topic %s, want %s", m.Topic, want)
		}
		// Seconds left: the broker held it for a moment.
		if m.MessageExpiry > day || m.MessageExpiry < day-60 {
			t.Errorf("%s: message expiry %d s, want about %d (24h)", m.Topic, m.MessageExpiry, day)
		}
		if m.ContentType != "application/json" {
			t.Errorf("%s: content type %q, want application/json", m.Topic, m.ContentType)
		}
		if id := ids[[2]int{e.ToolID, e.Seq}]; m.UserProps["event_id"] != id || !strings.Contains(id, "-") {
			t.Errorf("%s: event_id %q, want the stream entry id %q, as on the plugin's topic", m.Topic, m.UserProps["event_id"], id)
		}
		if i == 0 {
			t.Logf("%s: expiry %d s, content type %s, event_id %s", m.Topic, m.MessageExpiry, m.ContentType, m.UserProps["event_id"])
		}
	}
	nothingPending(t, p)
}
