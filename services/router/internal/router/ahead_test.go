package router

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
)

// holdWrites makes Redis hold every write, the tool state's script among
// them, until the returned func lets them go (or the test ends).
func holdWrites(t *testing.T, rdb *redis.Client) (release func()) {
	t.Helper()
	ctx := context.Background()
	if err := rdb.Do(ctx, "CLIENT", "PAUSE", 30000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	release = func() { _ = rdb.Do(ctx, "CLIENT", "UNPAUSE").Err() }
	t.Cleanup(release)
	return release
}

// routeAsync sends one event on a stream of its own and delivers its
// answer on the returned channel.
func routeAsync(t *testing.T, client routerv1.RouterServiceClient, ev *bridgev1.Event) <-chan *bridgev1.EventAck {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	stream, err := client.Route(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&routerv1.RouteRequest{Events: []*bridgev1.Event{ev}}); err != nil {
		t.Fatal(err)
	}
	acks := make(chan *bridgev1.EventAck, 1)
	go func() {
		if resp, err := stream.Recv(); err == nil && len(resp.GetAcks()) > 0 {
			acks <- resp.GetAcks()[0]
		}
	}()
	return acks
}

// published is what the broker was given so far, topics in order.
func (b *broker) published() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.topics)
}

// waitPublished waits until the broker was given topic.
func waitPublished(t *testing.T, b *broker, topic string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if slices.Contains(b.published(), topic) {
			return
		}
	}
	t.Fatalf("%s was never published; published: %v", topic, b.published())
}

// With rules that read no tool state, an event's messages do not wait for
// the state to be saved in Redis; the tool's snapshot does, and comes
// after them, and the event is answered only once both are settled.
func TestEventMessagesGoOutBeforeTheStateIsSaved(t *testing.T) {
	rdb := startRedis(t)
	client, b := routeServer(t, newTestBook(t, rulesFile(t, rulesV1), ""), newStateKeeper(rdb, "nemo:events", testLog(t)))
	wantAck(t, route(t, client, toolEvent("1-0", "1-0", "tool_enabled")), "1-0", bridgev1.Outcome_OUTCOME_DELIVERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
	before := len(b.published())

	release := holdWrites(t, rdb)
	acks := routeAsync(t, client, toolEvent("2-0", "2-0", "tool_disabled"))
	waitPublished(t, b, "nemo/tools/7/disabled")
	select {
	case a := <-acks:
		t.Fatalf("event answered (%v) while its tool's state was not saved yet", a)
	case <-time.After(300 * time.Millisecond):
	}
	if got := b.published()[before:]; !slices.Equal(got, []string{"nemo/tools/7/disabled"}) {
		t.Fatalf("while the state save waited, the broker was given %v; want only the event's own message", got)
	}

	release()
	wantDeliveredThenSnapshot(t, acks, b, before)
	wantRetainedAsSaved(t, b, rdb)
}

// A rule that reads the tool state makes its message from the state once
// saved: nothing of the event goes out before.
func TestRulesThatReadTheStateWaitForItToBeSaved(t *testing.T) {
	const withState = `version: 1
rules:
  - name: with-state
    publish: [{topic: "{prefix}{topic}", payload: {in_use: {state: in_use}}}]
`
	rdb := startRedis(t)
	client, b := routeServer(t, newTestBook(t, rulesFile(t, withState), ""), newStateKeeper(rdb, "nemo:events", testLog(t)))
	route(t, client, toolEvent("1-0", "1-0", "tool_enabled"))
	before := len(b.published())

	release := holdWrites(t, rdb)
	acks := routeAsync(t, client, toolEvent("2-0", "2-0", "tool_disabled"))
	time.Sleep(300 * time.Millisecond)
	if got := b.published()[before:]; len(got) > 0 {
		t.Fatalf("the broker was given %v before the state it reads was saved", got)
	}
	release()
	wantDeliveredThenSnapshot(t, acks, b, before)
	if got := string(b.payload("nemo/tools/7/disabled")); got != `{"in_use":false}` {
		t.Errorf("the message read %s from the state; want the state after the event, {\"in_use\":false}", got)
	}
}

// wantDeliveredThenSnapshot waits for tool 7's tool_disabled event to be
// answered delivered once its state was saved, and checks that the broker
// was given, after its first before messages, the event's message and
// then the tool's snapshot.
func wantDeliveredThenSnapshot(t *testing.T, acks <-chan *bridgev1.EventAck, b *broker, before int) {
	t.Helper()
	select {
	case a := <-acks:
		if a.GetOutcome() != bridgev1.Outcome_OUTCOME_DELIVERED {
			t.Fatalf("event answered %v (%s), want delivered", a.GetOutcome(), a.GetReason())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("event not answered after the state was saved")
	}
	if got := b.published()[before:]; !slices.Equal(got, []string{"nemo/tools/7/disabled", "nemo/tools/7/status"}) {
		t.Errorf("the broker was given %v; want the event's message, then its tool's snapshot", got)
	}
}
