package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// The stream carries the envelope either as JSON in field "event" or as
// its keys; the payload is a JSON string or an object; topic levels are
// made safe; and each tool's state is published retained.
func TestEnvelopeFormsTopicsAndToolStatus(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	sub := subscribe(t, p, "#")
	rdb := p.Redis.Client(1)
	entries := [][]any{
		{"topic", "nemo/tools/7/enabled", "payload", `{"event":"tool_enabled","tool_id":7,"user_name":"Alice Martin","usage_id":3}`, "qos", "1", "retain", "false"},
		{"event", `{"topic":"nemo/tools/8","payload":{"event":"tool_updated","tool_id":8,"tool_name":"Oxford ICP","tool_status":false,"timestamp":false},"qos":1}`},
		{"event", `{"topic":"nemo/tools/R+D #2//$x/start","payload":"{\"event\":\"tool_usage_start\",\"tool_id\":9}","qos":0}`},
		{"event", `{"topic":"$SYS/evil","payload":"{\"tool_id\":10}","qos":2}`},
	}
	for _, values := range entries {
		if err := rdb.XAdd(ctx(t), &redis.XAddArgs{Stream: "nemo:events", Values: values}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"nemo/tools/7/enabled":         `{"event":"tool_enabled","tool_id":7,"user_name":"Alice Martin","usage_id":3}`,
		"nemo/tools/8":                 `{"event":"tool_updated","tool_id":8,"tool_name":"Oxford ICP","tool_status":false,"timestamp":false}`,
		"nemo/tools/R_D _2/_/$x/start": `{"event":"tool_usage_start","tool_id":9}`,
		"_SYS/evil":                    `{"tool_id":10}`,
	}
	err := sub.WaitFor(30*time.Second, func(msgs []harness.Message) (bool, string) {
		got := map[string]string{}
		for _, m := range msgs {
			got[m.Topic] = string(m.Payload)
		}
		for topic, payload := range want {
			if got[topic] != payload {
				return false, fmt.Sprintf("on %q got %q, want %q (all topics: %v)", topic, got[topic], payload, keys(got))
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}

	// The tool state, retained: a subscriber that connects now reads it.
	late := subscribe(t, p, "nemo/tools/+/status")
	err = late.WaitFor(15*time.Second, func(msgs []harness.Message) (bool, string) {
		state := map[string]map[string]any{}
		for _, m := range msgs {
			var s map[string]any
			if json.Unmarshal(m.Payload, &s) == nil && m.Retain {
				state[m.Topic] = s
			}
		}
		a, b := state["nemo/tools/7/status"], state["nemo/tools/8/status"]
		ok := a != nil && a["in_use"] == true && a["user"] == "Alice Martin" && b != nil && b["operational"] == false && b["name"] == "Oxford ICP"
		return ok, fmt.Sprintf("retained states: %v", state)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The NEMO plugin pushes with LPUSH; the bridge delivers oldest first,
// starting with what a crash left in the processing list: this version's,
// or an earlier version's under the processing list's old name (before it
// took the list's hash tag), which ingest carries over at start.
func TestListModeDeliversOldestFirst(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, processing string }{
		{"this version crashed", "{nemo_mqtt_events}:processing"},
		{"an earlier version crashed", "nemo_mqtt_events:processing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			listModeDeliversOldestFirst(t, c.processing)
		})
	}
}

func listModeDeliversOldestFirst(t *testing.T, crashedIn string) {
	env := newEnv(t)
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	// Start the pipeline without ingest first, to fill the list before it
	// reads: the whole backlog must come out oldest first.
	p, err := env.StartPipeline(bin, harness.PipelineOptions{Ingest: []string{"-ingest-mode", "list"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ingest.Stop(); err != nil {
		t.Fatalf("ingest did not stop cleanly: %v", err)
	}
	const tools = 10
	rdb := p.Redis.Client(1)
	// A previous run crashed with events 0..1 of each tool in the
	// processing list (pushed there the way BLMOVE does: oldest at the
	// right end).
	crashed := harness.Events(2*tools, tools, 0)
	if err := harness.LPush(ctx(t), rdb, crashedIn, harness.Envelopes(crashed)); err != nil {
		t.Fatal(err)
	}
	backlog := harness.Events(48*tools, tools, 2)
	if err := harness.LPush(ctx(t), rdb, "nemo_mqtt_events", harness.Envelopes(backlog)); err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	if err := p.Ingest.Start(); err != nil {
		t.Fatal(err)
	}
	live := harness.Events(50*tools, tools, 50)
	if err := harness.LPush(ctx(t), rdb, "nemo_mqtt_events", harness.Envelopes(live)); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, 100, 60*time.Second)
	nothingInProcessing(t, p)
	if n, err := rdb.Exists(ctx(t), "nemo_mqtt_events:processing").Result(); err != nil || n != 0 {
		t.Errorf("the processing list's old name still exists (%d, %v)", n, err)
	}
}

// pub/sub is best effort, but in a calm run everything arrives.
func TestPubSubModeDelivers(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{Ingest: []string{"-ingest-mode", "pubsub"}})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	rdb := p.Redis.Client(1)
	if err := harness.Publish(ctx(t), rdb, "nemo_mqtt_events", harness.Envelopes(harness.Events(200, 5, 0))); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, 5, 40, 30*time.Second)
}
