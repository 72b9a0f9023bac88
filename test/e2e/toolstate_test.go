package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// savedTool is tool id's state as the router saved it in Redis.
func savedTool(t *testing.T, p *harness.Pipeline, id int) (string, error) {
	t.Helper()
	return p.Redis.Client(1).HGet(ctx(t), "nemo:bridge:tools", fmt.Sprint(id)).Result()
}

// statusIsSaved waits until the snapshot a display connecting now gets
// for tool id is the state Redis holds, and that state says want.
func statusIsSaved(t *testing.T, p *harness.Pipeline, id int, want string) {
	t.Helper()
	topic := fmt.Sprintf("nemo/tools/%d/status", id)
	eventually(t, 30*time.Second, func() error {
		doc, err := savedTool(t, p, id)
		if err != nil {
			return fmt.Errorf("no state of tool %d in Redis: %v", id, err)
		}
		if !strings.Contains(doc, want) {
			return fmt.Errorf("Redis holds %s, which does not say %s", doc, want)
		}
		if got := retained(t, p, topic)[topic]; got != normalJSON([]byte(doc)) {
			return fmt.Errorf("%s retains %s, Redis holds %s", topic, got, doc)
		}
		return nil
	})
}

// Anyone who reaches the router's gRPC could send an event with a sequence
// far ahead, which the tool state would keep for good and so ignore every
// real event of the tool. The router refuses it, says so in its log, and
// the tool's next real event, through Redis, changes its state.
func TestToolStateRefusesAForgedFutureSequence(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	stream, err := rulesClient(t, p.Router).Route(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	forged := &bridgev1.Event{Id: "forged-1", Topic: "nemo/tools/31/disabled", Qos: 1, OrderingKey: "tool:31", Sequence: "99999999999999-0",
		Payload: []byte(`{"event":"tool_disabled","tool_id":31,"user_name":"Mallory"}`)}
	if err := stream.Send(&routerv1.RouteRequest{Events: []*bridgev1.Event{forged}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if acks := resp.GetAcks(); len(acks) != 1 || acks[0].GetOutcome() != bridgev1.Outcome_OUTCOME_REJECTED || acks[0].GetCause() != bridgev1.Cause_CAUSE_IMPOSSIBLE_SEQUENCE {
		t.Errorf("the forged event was answered %v, want refused as impossible_sequence", acks)
	}
	entry := displayEnvelope("nemo/tools/31/enabled", `{"event":"tool_enabled","tool_id":31,"tool_name":"Asher","usage_id":5,"user_name":"Ann Lee (alee)"}`)
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", []string{entry}); err != nil {
		t.Fatal(err)
	}
	statusIsSaved(t, p, 31, `"user":"Ann Lee (alee)"`)
	log := serviceLog(t, p.Env, "router")
	if line := grep(log, "forged-1"); !strings.Contains(line, "event refused: its sequence cannot come from Redis") || !strings.Contains(line, "99999999999999-0 is ahead of Redis's clock") {
		t.Errorf("the router's log does not say why it refused the forged event:\n%s", line)
	}
	nothingPending(t, p)
}

// The router saves a tool's state before its rules run: when the tool's
// last event of a batch is refused (here by a rule: its message would be
// too big), the snapshot still goes out, so that displays see the state
// Redis holds, and the event goes to the dead letters.
func TestToolStateSnapshotIsWhatRedisHoldsWhenTheLastEventIsRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(`version: 1
rules:
  - name: tiny
    match: {event: tool_disabled}
    publish: [{topic: "{prefix}{topic}", max_bytes: 10}]
  - name: plugin-topics
    publish: [{topic: "{prefix}{topic}"}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startPipeline(t, harness.PipelineOptions{Router: []string{"-rules", path}})
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", []string{
		displayEnvelope("nemo/tools/32/enabled", `{"event":"tool_enabled","tool_id":32,"tool_name":"Asher","usage_id":6,"user_name":"Ann Lee (alee)"}`),
		displayEnvelope("nemo/tools/32/disabled", `{"event":"tool_disabled","tool_id":32,"tool_name":"Asher","usage_id":6,"user_name":"Ann Lee (alee)"}`),
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		dead, err := p.Redis.Client(1).XRange(ctx(t), "nemo:events:dead", "-", "+").Result()
		if err != nil {
			return err
		}
		// Over max_bytes: message_too_large (the router used to call every
		// error of the rules invalid_topic).
		if len(dead) != 1 || dead[0].Values["code"] != "message_too_large" || dead[0].Values["stage"] != "router" {
			return fmt.Errorf("dead letters %v, want the tool_disabled refused by its rule", dead)
		}
		return nil
	})
	statusIsSaved(t, p, 32, `"in_use":false`)
	nothingPending(t, p)
}
