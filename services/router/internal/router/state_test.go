package router

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/toolstate"
)

// toolEvent is event ("tool_enabled", ...) for tool 7 at stream id seq.
func toolEvent(id, seq, event string) *bridgev1.Event {
	return &bridgev1.Event{
		Id: id, Sequence: seq, Topic: "nemo/tools/7/" + strings.TrimPrefix(event, "tool_"), OrderingKey: "tool:7",
		Payload: fmt.Appendf(nil, `{"event":%q,"tool_id":7,"user_name":"Ann"}`, event),
	}
}

// saved is tool 7's state as Redis holds it, as JSON and read.
func saved(t *testing.T, rdb *redis.Client) ([]byte, *statusv1.Tool) {
	t.Helper()
	doc, err := rdb.HGet(context.Background(), records.Tools, "7").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	tool, err := records.UnmarshalTool(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, tool
}

// save writes a state of tool 7 into Redis, as another router would.
func save(t *testing.T, rdb *redis.Client, tool *statusv1.Tool) {
	t.Helper()
	doc, err := records.MarshalTool(tool)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := rdb.HSet(ctx, records.Tools, "7", doc).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, records.ToolSequences, "7", tool.GetSequence()).Err(); err != nil {
		t.Fatal(err)
	}
}

func redisTime(t *testing.T, rdb *redis.Client) time.Time {
	t.Helper()
	now, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return now
}

func wantAck(t *testing.T, got map[string]*bridgev1.EventAck, id string, outcome bridgev1.Outcome, c bridgev1.Cause, words ...string) {
	t.Helper()
	a := got[id]
	if a.GetOutcome() != outcome || a.GetCause() != c {
		t.Errorf("event %s answered %v %v (%s), want %v %v", id, a.GetOutcome(), a.GetCause(), a.GetReason(), outcome, c)
	}
	for _, w := range words {
		if !strings.Contains(a.GetReason(), w) {
			t.Errorf("event %s: reason %q does not say %q", id, a.GetReason(), w)
		}
	}
}

func TestSequencesRedisCannotHaveGivenAreRefused(t *testing.T) {
	rdb := startRedis(t)
	ctx := context.Background()
	// Redis gave this id, an hour ahead of its clock: someone added an
	// entry with an explicit id (or the clock was set back since).
	aheadMs := redisTime(t, rdb).Add(time.Hour).UnixMilli()
	ahead := fmt.Sprintf("%d-0", aheadMs)
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "nemo:events", ID: ahead, Values: []any{"event", "{}"}}).Err(); err != nil {
		t.Fatal(err)
	}
	client, _ := routeServer(t, newTestBook(t, "", ""), newStateKeeper(rdb, "nemo:events", testLog(t)))
	got := route(t, client,
		toolEvent("real", "1-0", "tool_enabled"),
		toolEvent("forged", "99999999999999-0", "tool_disabled"),
		toolEvent("just-after", fmt.Sprintf("%d-1", aheadMs), "tool_disabled"),
		toolEvent("malformed", "12x-0", "tool_disabled"),
		toolEvent("real-ahead", ahead, "tool_enabled"),
	)
	wantAck(t, got, "real", bridgev1.Outcome_OUTCOME_DELIVERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
	wantAck(t, got, "real-ahead", bridgev1.Outcome_OUTCOME_DELIVERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
	wantAck(t, got, "forged", bridgev1.Outcome_OUTCOME_REJECTED, bridgev1.Cause_CAUSE_IMPOSSIBLE_SEQUENCE,
		"sequence 99999999999999-0 is ahead of Redis's clock", "and of the last id Redis gave the stream nemo:events ("+ahead+"), so it cannot come from Redis")
	wantAck(t, got, "just-after", bridgev1.Outcome_OUTCOME_REJECTED, bridgev1.Cause_CAUSE_IMPOSSIBLE_SEQUENCE, "cannot come from Redis")
	wantAck(t, got, "malformed", bridgev1.Outcome_OUTCOME_REJECTED, bridgev1.Cause_CAUSE_IMPOSSIBLE_SEQUENCE, `"12x-0" is not a Redis stream entry id`)
	if _, tool := saved(t, rdb); !tool.GetInUse() || tool.GetSequence() != toolstate.Sequence(toolEvent("", ahead, "")) {
		t.Errorf("the refused events reached the state: %v", tool)
	}
}

func TestSequenceAheadOfAStreamRedisDoesNotHaveIsRefused(t *testing.T) {
	rdb := startRedis(t)
	if err := rdb.Set(context.Background(), "nemo:list", "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ stream, says string }{
		{"nemo:elsewhere", "the stream nemo:elsewhere, which cannot be read (ERR no such key)"},
		{"nemo:list", "the stream nemo:list, which cannot be read (WRONGTYPE"},
	} {
		client, _ := routeServer(t, newTestBook(t, "", ""), newStateKeeper(rdb, c.stream, testLog(t)))
		got := route(t, client, toolEvent("forged", "99999999999999-0", "tool_disabled"))
		wantAck(t, got, "forged", bridgev1.Outcome_OUTCOME_REJECTED, bridgev1.Cause_CAUSE_IMPOSSIBLE_SEQUENCE, c.says)
	}
}

// Without Redis the router keeps no state that a sequence could hold
// back: only one that is no stream id is refused.
func TestWithoutRedisOnlyMalformedSequencesAreRefused(t *testing.T) {
	client, _ := routeServer(t, newTestBook(t, "", ""), nil)
	got := route(t, client, toolEvent("far", "99999999999999-0", "tool_disabled"), toolEvent("malformed", "1-0-0", "tool_disabled"))
	wantAck(t, got, "far", bridgev1.Outcome_OUTCOME_DELIVERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
	wantAck(t, got, "malformed", bridgev1.Outcome_OUTCOME_REJECTED, bridgev1.Cause_CAUSE_IMPOSSIBLE_SEQUENCE, "is not a Redis stream entry id")
}

// A state saved with a sequence no real event can have (by a router
// without the check, or a clock far ahead) takes the next real event.
func TestPoisonedToolStateIsNotFrozen(t *testing.T) {
	poison := func(t *testing.T, rdb *redis.Client) {
		forged := toolstate.Sequence(toolEvent("", "99999999999999-0", ""))
		save(t, rdb, &statusv1.Tool{Id: 7, Operational: true, LastEvent: "tool_disabled", Sequence: forged})
	}
	check := func(t *testing.T, rdb *redis.Client, b *broker) {
		t.Helper()
		doc, tool := saved(t, rdb)
		if !tool.GetInUse() || tool.GetSequence() != toolstate.Sequence(toolEvent("", "2-0", "")) {
			t.Errorf("a real event did not change the poisoned state: %v", tool)
		}
		if snap := b.retains("nemo/tools/7/status"); string(snap) != string(doc) {
			t.Errorf("retained status %s, Redis holds %s", snap, doc)
		}
	}
	t.Run("loaded at start", func(t *testing.T) {
		rdb := startRedis(t)
		poison(t, rdb)
		client, b := routeServer(t, newTestBook(t, "", ""), newStateKeeper(rdb, "nemo:events", testLog(t)))
		wantAck(t, route(t, client, toolEvent("2-0", "2-0", "tool_enabled")), "2-0", bridgev1.Outcome_OUTCOME_DELIVERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
		check(t, rdb, b)
	})
	t.Run("saved by another router meanwhile", func(t *testing.T) {
		rdb := startRedis(t)
		client, b := routeServer(t, newTestBook(t, "", ""), newStateKeeper(rdb, "nemo:events", testLog(t)))
		wantAck(t, route(t, client, toolEvent("1-0", "1-0", "tool_disabled")), "1-0", bridgev1.Outcome_OUTCOME_DELIVERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
		poison(t, rdb)
		wantAck(t, route(t, client, toolEvent("2-0", "2-0", "tool_enabled")), "2-0", bridgev1.Outcome_OUTCOME_DELIVERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
		check(t, rdb, b)
	})
}
