package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// A message that the broker answers by dropping the connection, every
// time, is found, sent alone, and dead-lettered with code
// broker_disconnects; everything else flows on, in order per tool, also
// the events of the same tool after it. Without that, the session resends
// it at every reconnect and nothing is delivered any more.
//
// The broker here is stricter than the bridge's own topic check, as a
// cloud broker with a limit on topic levels is (AWS IoT allows 8 levels):
// a gate between the publisher and mosquitto cuts the connection whenever
// the publisher sends the poison topic. The publisher talks plain MQTT so
// that the gate can read the packets.
func TestBrokerDroppingTheConnectionOverOneMessage(t *testing.T) {
	t.Parallel()
	const tools, perTool = 10, 100
	const poisonTopic = "nemo/lab/bay/2/rack/4/shelf/9/tool/3/notes"
	p := startPipeline(t, harness.PipelineOptions{GateBridge: true, PlainBridge: true})
	var cuts atomic.Int32
	var mu sync.Mutex
	tails := map[int][]byte{} // per connection, the end of the last chunk: a topic may straddle two
	p.BridgeGate.SetTap(func(conn int, dir harness.Direction, chunk []byte) bool {
		if dir != harness.ToTarget {
			return true
		}
		mu.Lock()
		seen := append(tails[conn], chunk...)
		tails[conn] = seen[max(0, len(seen)-len(poisonTopic)):]
		mu.Unlock()
		if bytes.Contains(seen, []byte(poisonTopic)) {
			cuts.Add(1)
			return false
		}
		return true
	})
	sub := subscribe(t, p, "nemo/tools/+/enabled")

	envs := harness.Envelopes(harness.Events(tools*perTool, tools, 0))
	// Tool 3's own: the events of tool 3 written after it wait behind it.
	poison := fmt.Sprintf(`{"topic":%q,"payload":"{\"event\":\"tool_note\",\"tool_id\":3}","qos":1}`, poisonTopic)
	envs = append(envs[:tools*perTool/2], append([]string{poison}, envs[tools*perTool/2:]...)...)
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", envs); err != nil {
		t.Fatal(err)
	}

	waitInOrder(t, sub, tools, perTool, 60*time.Second)
	eventually(t, 30*time.Second, func() error {
		dead, err := p.Redis.Client(1).XRange(ctx(t), "nemo:events:dead", "-", "+").Result()
		if err != nil {
			return err
		}
		if len(dead) != 1 {
			return fmt.Errorf("dead letters %v, want one, the poison message", dead)
		}
		d := dead[0].Values
		entry, _ := d["entry"].(string)
		reason, _ := d["reason"].(string)
		if !strings.Contains(entry, poisonTopic) || d["code"] != brokerDisconnectsCode || d["stage"] != "publisher" || !strings.Contains(reason, "broker_disconnects") {
			return fmt.Errorf("dead letter %v, want the poison entry from the publisher, code %s, reason broker_disconnects", d, brokerDisconnectsCode)
		}
		return nil
	})
	nothingPending(t, p)
	// Twice with others in flight, then once alone; a fourth would be the
	// session resending it after the verdict.
	if n := cuts.Load(); n != 3 {
		t.Fatalf("the gate cut the connection %d times over the poison topic, want 3", n)
	}
}

// brokerDisconnectsCode is the dead-letter code of such a message. The
// router gives every refusal the publisher reports the code
// publish_refused: a PublishResult carries only the error's words, which
// here start with broker_disconnects. Once it carries a code of its own,
// this is "broker_disconnects".
const brokerDisconnectsCode = "publish_refused"
