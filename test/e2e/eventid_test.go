package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// pluginEnabled is a tool_enabled event of usage as the NEMO plugin pushes
// it, with a user name outside ASCII (json.dumps escapes it), and the
// payload the broker must carry.
func pluginEnabled(usage int, writtenAt float64) (entry, payload string) {
	p := harness.Dict("event", "tool_enabled", "tool_id", 12, "tool_name", "Zeiss Auriga", "usage_id", usage,
		"user_name", "José Muñoz", "start_time", "2025-11-30T20:20:00+00:00")
	return harness.PluginEntry("nemo/tools/12/enabled", p, 1, false, writtenAt), harness.PyDumps(p)
}

// eventIDs waits until n messages arrived and returns their event_id user
// properties, in arrival order.
func eventIDs(t *testing.T, sub *harness.Subscriber, n int) []string {
	t.Helper()
	err := sub.WaitFor(30*time.Second, func(msgs []harness.Message) (bool, string) {
		return len(msgs) >= n, fmt.Sprintf("%d of %d messages", len(msgs), n)
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range sub.Messages()[:n] {
		ids = append(ids, m.UserProps["event_id"])
	}
	return ids
}

// Subscribers drop duplicates by event_id, so in list mode an id must never
// come back for another event after ingest restarts (it did: list-1,
// list-2, ... started again in every run), and an entry that a killed
// ingest left in the processing list must come again with the id of its
// first delivery. Two identical entries in flight at once both go through.
func TestListEventIDsAcrossRestartsAndRedelivery(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{Ingest: []string{"-ingest-mode", "list"}})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	rdb := p.Redis.Client(1)
	push := func(envelopes ...string) {
		t.Helper()
		if err := harness.LPush(ctx(t), rdb, "nemo_mqtt_events", envelopes); err != nil {
			t.Fatal(err)
		}
	}
	startIngest := func() {
		t.Helper()
		if err := p.Ingest.Start(); err != nil {
			t.Fatal(err)
		}
		if err := p.Ingest.WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}

	first, firstPayload := pluginEnabled(1, 1764534000.123456)
	push(first)
	eventIDs(t, sub, 1)
	var delivered struct {
		UserName string `json:"user_name"`
	}
	if m := sub.Messages()[0]; string(m.Payload) != firstPayload || json.Unmarshal(m.Payload, &delivered) != nil || delivered.UserName != "José Muñoz" {
		t.Fatalf("published %s, want the plugin's payload %s", m.Payload, firstPayload)
	}

	if err := p.Ingest.Stop(); err != nil {
		t.Fatalf("ingest did not stop cleanly: %v", err)
	}
	startIngest()
	second, _ := pluginEnabled(2, 1764534060.5)
	push(second)
	ids := eventIDs(t, sub, 2)
	if ids[0] == ids[1] {
		t.Fatalf("the first event after a restart has the event_id %q of the first before it", ids[1])
	}

	// A crash after the broker took the message and before Redis forgot
	// the entry: Redis refuses ingest's LREM, so the entry stays in the
	// processing list; ingest is killed; the next run delivers it again.
	processingEmpty := func() {
		t.Helper()
		eventually(t, 15*time.Second, func() error {
			n, err := rdb.LLen(ctx(t), "{nemo_mqtt_events}:processing").Result()
			if err == nil && n != 0 {
				err = fmt.Errorf("%d entries left in the processing list", n)
			}
			return err
		})
	}
	processingEmpty()
	if err := rdb.Do(ctx(t), "ACL", "SETUSER", "default", "-lrem").Err(); err != nil {
		t.Fatal(err)
	}
	third, _ := pluginEnabled(3, 1764534120.25)
	push(third)
	eventIDs(t, sub, 3)
	if n, err := rdb.LLen(ctx(t), "{nemo_mqtt_events}:processing").Result(); err != nil || n != 1 {
		t.Fatalf("processing list holds %d entries (%v), want the unacknowledged one", n, err)
	}
	p.Ingest.Kill9()
	if err := rdb.Do(ctx(t), "ACL", "SETUSER", "default", "+lrem").Err(); err != nil {
		t.Fatal(err)
	}
	startIngest()
	ids = eventIDs(t, sub, 4)
	if ids[3] != ids[2] {
		t.Fatalf("the entry delivered again after a crash has event_id %q, the first time %q", ids[3], ids[2])
	}

	// Two identical entries pushed at once are read in one batch.
	fourth, _ := pluginEnabled(4, 1764534180.75)
	push(fourth, fourth)
	ids = eventIDs(t, sub, 6)
	unique := slices.Compact(slices.Sorted(slices.Values([]string{ids[0], ids[1], ids[2], ids[4], ids[5]})))
	if len(unique) != 5 || !strings.HasPrefix(ids[5], ids[4]) {
		t.Fatalf("event ids %q: want five distinct, the second identical entry's derived from the first's", ids)
	}
	processingEmpty()
	t.Logf("event ids: %q", ids)
}

// Pub/sub has no redelivery, but its ids must not repeat across restarts
// either (they were pubsub-1, pubsub-2, ... in every run).
func TestPubSubEventIDsDifferAcrossRestarts(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{Ingest: []string{"-ingest-mode", "pubsub"}})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	rdb := p.Redis.Client(1)
	publish := func(envelope string) {
		t.Helper()
		// Publish only once ingest listens: a channel keeps nothing.
		eventually(t, 15*time.Second, func() error {
			n, err := rdb.PubSubNumSub(ctx(t), "nemo_mqtt_events").Result()
			if err == nil && n["nemo_mqtt_events"] != 1 {
				err = fmt.Errorf("%d subscribers on the channel", n["nemo_mqtt_events"])
			}
			return err
		})
		if err := rdb.Publish(ctx(t), "nemo_mqtt_events", envelope).Err(); err != nil {
			t.Fatal(err)
		}
	}
	first, _ := pluginEnabled(1, 1764534000.123456)
	publish(first)
	eventIDs(t, sub, 1)
	if err := p.Ingest.Stop(); err != nil {
		t.Fatalf("ingest did not stop cleanly: %v", err)
	}
	if err := p.Ingest.Start(); err != nil {
		t.Fatal(err)
	}
	second, _ := pluginEnabled(2, 1764534060.5)
	publish(second)
	ids := eventIDs(t, sub, 2)
	if ids[0] == ids[1] || !strings.HasPrefix(ids[1], "pubsub-") {
		t.Fatalf("event ids before and after a restart: %q", ids)
	}
}
