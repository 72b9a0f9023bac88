package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// Each event is published at the QoS it asks for: 0, 1 and 2 all arrive
// (a QoS 2 subscriber receives each at the publisher's QoS).
func TestQoSZeroOneAndTwoArrive(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	sub, err := p.SubscribeAs("", "", "nemo/qos/#", 2)
	if err != nil {
		t.Fatal(err)
	}
	for qos := range 3 {
		env := fmt.Sprintf(`{"topic":"nemo/qos/%d","payload":"{\"qos\":%d}","qos":%d}`, qos, qos, qos)
		if err := p.Redis.Client(1).XAdd(ctx(t), &redis.XAddArgs{Stream: "nemo:events", Values: []any{"event", env}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	err = sub.WaitFor(30*time.Second, func(msgs []harness.Message) (bool, string) {
		got := map[string]byte{}
		for _, m := range msgs {
			got[m.Topic] = m.QoS
		}
		return len(got) == 3 && got["nemo/qos/0"] == 0 && got["nemo/qos/1"] == 1 && got["nemo/qos/2"] == 2, fmt.Sprintf("topic → QoS received: %v", got)
	})
	if err != nil {
		t.Fatal(err)
	}
	nothingPending(t, p)
}

// The retained bridge status: online when the publisher connects, offline
// from the broker (the last will) when it dies, offline when it stops.
func TestBridgeStatusOnlineOfflineAndLastWill(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	states := func(sub *harness.Subscriber) []string {
		var out []string
		for _, m := range sub.Messages() {
			var s struct{ State, Reason string }
			if json.Unmarshal(m.Payload, &s) == nil {
				out = append(out, s.State+"/"+s.Reason)
			}
		}
		return out
	}
	waitState := func(sub *harness.Subscriber, want string) {
		t.Helper()
		err := sub.WaitFor(20*time.Second, func([]harness.Message) (bool, string) {
			got := states(sub)
			return len(got) > 0 && got[len(got)-1] == want, fmt.Sprintf("states so far %v, want %s last", got, want)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sub := subscribe(t, p, "nemo/bridge/status")
	waitState(sub, "online/")
	p.Publisher.Kill9()
	waitState(sub, "offline/connection lost")
	if err := p.Publisher.Start(); err != nil {
		t.Fatal(err)
	}
	waitState(sub, "online/")
	if err := p.Publisher.Stop(); err != nil {
		t.Fatal(err)
	}
	waitState(sub, "offline/stopped")
	late := subscribe(t, p, "nemo/bridge/status") // retained: a newcomer learns it too
	waitState(late, "offline/stopped")
}

// With a password file and an ACL in force, the bridge logs in, and a
// message the ACL forbids is refused by the broker: it goes to the dead
// letters with the broker's reason, and the events around it arrive.
func TestBrokerRefusalGoesToDeadLetters(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{
		Broker: harness.MosquittoOptions{
			Users: map[string]string{"bridge": "s3cret", "display": "d1splay"},
			ACL:   "user bridge\ntopic write nemo/tools/#\ntopic write nemo/bridge/#\n\nuser display\ntopic read nemo/#\n",
		},
		Publisher: []string{"-mqtt-username", "bridge", "-mqtt-password", "s3cret"},
	})
	sub, err := p.SubscribeAs("display", "d1splay", "nemo/tools/+/enabled", 1)
	if err != nil {
		t.Fatal(err)
	}
	envs := harness.Envelopes(harness.Events(20, 2, 0))
	envs = append(envs[:10], append([]string{`{"topic":"nemo/secret/1","payload":"{\"tool_id\":1}","qos":1}`}, envs[10:]...)...)
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", envs); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, 2, 10, 30*time.Second)
	eventually(t, 15*time.Second, func() error {
		dead, err := p.Redis.Client(1).XRange(ctx(t), "nemo:events:dead", "-", "+").Result()
		if err != nil {
			return err
		}
		if len(dead) != 1 || dead[0].Values["code"] != "publish_refused" || dead[0].Values["stage"] != "publisher" {
			return fmt.Errorf("dead letters %v, want one publish_refused from the publisher", dead)
		}
		return nil
	})
	nothingPending(t, p)
}
