package router

import (
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/toolstate"
)

func TestOnlyEachToolsLastStateOfABatchIsPublished(t *testing.T) {
	tool := func(id int32) *statusv1.Tool { return &statusv1.Tool{Id: id} }
	states := []*statusv1.Tool{tool(1), tool(2), nil, tool(1), tool(3), tool(2), nil}
	got := lastStatePerTool(states)
	want := []bool{false, false, false, true, true, true, false}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// The state is saved before the rules run, so a tool's last event of a
// batch that is refused, by its rules or by the broker, still carries the
// snapshot: the retained status is what Redis holds.
func TestSnapshotFollowsTheSavedStateWhenTheLastEventIsRefused(t *testing.T) {
	const tiny = `version: 1
rules:
  - name: tiny
    match: {event: tool_disabled}
    publish: [{topic: "{prefix}{topic}", max_bytes: 10}]
  - name: plugin-topics
    publish: [{topic: "{prefix}{topic}"}]
`
	for _, c := range []struct {
		name, rules, refuses string
		cause                bridgev1.Cause
	}{
		// Over max_bytes: once answered as invalid_topic, like every
		// other error of the rules.
		{"by a rule", tiny, "", bridgev1.Cause_CAUSE_MESSAGE_TOO_LARGE},
		{"by the broker", rulesV1, "nemo/tools/7/disabled", bridgev1.Cause_CAUSE_PUBLISH_REFUSED},
	} {
		t.Run(c.name, func(t *testing.T) {
			rdb := startRedis(t)
			client, b := routeServer(t, newTestBook(t, rulesFile(t, c.rules), ""), newStateKeeper(rdb, "nemo:events", testLog(t)))
			b.refuses = c.refuses
			got := route(t, client, toolEvent("1-0", "1-0", "tool_enabled"), toolEvent("2-0", "2-0", "tool_disabled"))
			wantAck(t, got, "1-0", bridgev1.Outcome_OUTCOME_DELIVERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
			wantAck(t, got, "2-0", bridgev1.Outcome_OUTCOME_REJECTED, c.cause)
			wantRetainedAsSaved(t, b, rdb)
		})
	}
}

// A state Redis did not take (it held a newer one, from another router)
// goes out as no snapshot: the router that saved the newer one publishes
// that.
func TestNoSnapshotOfAStateRedisDidNotTake(t *testing.T) {
	rdb := startRedis(t)
	client, b := routeServer(t, newTestBook(t, rulesFile(t, rulesV1), ""), newStateKeeper(rdb, "nemo:events", testLog(t)))
	route(t, client, toolEvent("5-0", "5-0", "tool_disabled"))
	before := b.retains("nemo/tools/7/status")
	save(t, rdb, &statusv1.Tool{Id: 7, InUse: true, User: "Bob", Operational: true, Sequence: toolstate.Sequence(toolEvent("", "9-0", ""))})
	wantAck(t, route(t, client, toolEvent("7-0", "7-0", "tool_enabled")), "7-0", bridgev1.Outcome_OUTCOME_DELIVERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
	if snap := b.retains("nemo/tools/7/status"); string(snap) != string(before) {
		t.Errorf("published %s, a state Redis did not save", snap)
	}
	if _, tool := saved(t, rdb); tool.GetUser() != "Bob" {
		t.Errorf("Redis holds %v, not the newer state", tool)
	}
}

// wantRetainedAsSaved checks that Redis holds tool 7 as not in use (after
// its tool_disabled, which a refusal of its message does not undo) and
// that the broker retains that same state as its status.
func wantRetainedAsSaved(t *testing.T, b *broker, rdb *redis.Client) {
	t.Helper()
	doc, tool := saved(t, rdb)
	if tool.GetInUse() {
		t.Fatalf("Redis holds %v, without the tool_disabled", tool)
	}
	if snap := b.retains("nemo/tools/7/status"); string(snap) != string(doc) {
		t.Errorf("retained status %q, Redis holds %s", snap, doc)
	}
}
