package router

import (
	"context"
	"testing"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// Batches that arrive while the router saves the tool state of the one
// before are routed together, in order: the tool's state is saved, and
// its snapshot published, once for all of them. Redis is paused for
// writes so that the first batch's save waits while two more arrive;
// routed one by one, the three batches would publish three snapshots.
func TestBatchesThatArriveWhileOneIsRoutedAreRoutedTogether(t *testing.T) {
	rdb := startRedis(t)
	client, b := routeServer(t, newTestBook(t, rulesFile(t, rulesV1), ""), newStateKeeper(rdb, "nemo:events", testLog(t)))
	route(t, client, toolEvent("1-0", "1-0", "tool_disabled")) // the state is loaded
	before := b.count("nemo/tools/7/status")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := client.Route(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(ctx, "CLIENT", "PAUSE", 500, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	batches := [][]*bridgev1.Event{
		{toolEvent("2-0", "2-0", "tool_enabled")},
		{toolEvent("3-0", "3-0", "tool_disabled")},
		{toolEvent("4-0", "4-0", "tool_enabled"), toolEvent("4-1", "4-1", "tool_disabled"), toolEvent("4-2", "4-2", "tool_enabled")},
	}
	for i, batch := range batches {
		if err := stream.Send(&routerv1.RouteRequest{Events: batch}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			time.Sleep(100 * time.Millisecond) // the first batch waits for Redis
		}
	}
	answered := 0
	for answered < 5 {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.GetAcks() {
			if a.GetOutcome() != bridgev1.Outcome_OUTCOME_DELIVERED {
				t.Errorf("event %s answered %v: %s", a.GetEventId(), a.GetOutcome(), a.GetReason())
			}
			answered++
		}
	}
	// 2: the first batch's, then one for the two that arrived while it
	// waited (1 if all three arrived before the router took the first).
	if n := b.count("nemo/tools/7/status") - before; n < 1 || n > 2 {
		t.Errorf("%d snapshots published for three batches; want 2: the first batch's, then one for the two that arrived meanwhile", n)
	}
	doc, tool := saved(t, rdb)
	if !tool.GetInUse() || tool.GetSequence() == "" || string(b.retains("nemo/tools/7/status")) != string(doc) {
		t.Errorf("retained status %s, Redis holds %s; want the state after the last event (in use)", b.retains("nemo/tools/7/status"), doc)
	}
	if seq := rdb.HGet(ctx, records.ToolSequences, "7").Val(); seq != tool.GetSequence() {
		t.Errorf("sequence %s beside a state of %s", seq, tool.GetSequence())
	}
}
