package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// A broker cluster of two mosquitto nodes bridged with each other, both
// given to the publisher (-mqtt-url in a file, comma-separated, the
// password holding a comma): the publisher connects to the first; when
// the first stops in the middle of a run, it goes on with the second,
// which it tells in GetSession and its logs (never with the password),
// and every event is delivered, each tool's in order, nothing left
// pending in Redis.
func TestClusterBrokersFailOverToTheNextURL(t *testing.T) {
	t.Parallel()
	const (
		// The password holds a comma, and what follows it does not begin
		// with a scheme: it must not split the list there.
		password = "Br,9k-q;z"
		tools    = 6
		before   = 300 // events per tool written before the first node stops
		after    = 100 // and after
	)
	users := map[string]string{"bridge": password, "display": "d1splay", "peer": "peer-Pw"}
	p := startPipeline(t, harness.PipelineOptions{
		// max_inflight_messages also bounds what a node sends one client
		// (a subscriber, the other node) unacknowledged; beyond it the
		// node queues. Queued there, a message the node acknowledged is
		// lost with the node when it stops: lifting the bound keeps that
		// window to the instant between the acknowledgement and the write.
		Broker: harness.MosquittoOptions{Users: users, MaxInflight: 65535},
		Peer:   &harness.MosquittoOptions{Users: users, MaxInflight: 65535, Bridge: &harness.MosquittoBridge{User: "peer", Password: "peer-Pw"}},
		MQTTURL: func(p *harness.Pipeline) string {
			return "mqtts://bridge:" + password + "@" + p.Broker.TLSAddr + ",mqtts://bridge:" + password + "@" + p.Peer.TLSAddr
		},
	})
	first := "mqtts://bridge:xxxxx@" + p.Broker.TLSAddr
	second := "mqtts://bridge:xxxxx@" + p.Peer.TLSAddr
	session := sessionClient(t, p.Publisher.GRPCAddr)
	connectedTo := func(want string) func() error {
		return func() error {
			resp, err := session.GetSession(ctx(t), &publisherv1.GetSessionRequest{})
			if err != nil {
				return err
			}
			if !resp.GetConnected() || resp.GetBroker() != want {
				return fmt.Errorf("GetSession: connected %v to %q (last error %q), want connected to %q", resp.GetConnected(), resp.GetBroker(), resp.GetLastError(), want)
			}
			return nil
		}
	}
	eventually(t, 30*time.Second, connectedTo(first))

	subscribe := func(at *harness.Mosquitto) *harness.Subscriber {
		s, err := p.SubscribeWith(harness.SubscribeOptions{User: "display", Password: "d1splay", Filter: "nemo/tools/+/enabled", QoS: 1, Broker: at})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	onFirst, onSecond := subscribe(p.Broker), subscribe(p.Peer)
	// The bridge between the nodes is up once a message published on the
	// first reaches the second. ("probe" is no test event: the order
	// checks skip it.)
	eventually(t, 30*time.Second, func() error {
		if err := onFirst.Publish(ctx(t), "nemo/tools/probe/enabled", []byte("probe")); err != nil {
			return err
		}
		for _, m := range onSecond.Messages() {
			if m.Topic == "nemo/tools/probe/enabled" {
				return nil
			}
		}
		return fmt.Errorf("the nodes do not pass messages on to each other yet")
	})

	rdb := p.Redis.Client(1)
	defer rdb.Close()
	if err := harness.XAdd(ctx(t), rdb, "nemo:events", harness.Envelopes(harness.Events(tools*before, tools, 0))); err != nil {
		t.Fatal(err)
	}
	// Mid-run: the first node stops once part of the events went through
	// it, with more on their way.
	eventually(t, 60*time.Second, func() error {
		if n := harness.Distinct(onFirst.Messages()); n < tools*before/3 {
			return fmt.Errorf("%d of %d events through the first node before stopping it", n, tools*before)
		}
		return nil
	})
	if err := p.Broker.Stop(); err != nil {
		t.Logf("stopping the first node: %v", err)
	}
	if err := harness.XAdd(ctx(t), rdb, "nemo:events", harness.Envelopes(harness.Events(tools*after, tools, before))); err != nil {
		t.Fatal(err)
	}

	// Delivered is what a subscriber on either node got. A message the
	// first node acknowledged, and so the bridge settled, but had not yet
	// passed on to its subscriber or to the other node when it stopped
	// leaves with it: that is the broker cluster's guarantee, not the
	// bridge's. (The test narrows that window with max_inflight_messages
	// above.) What the first node did not acknowledge, the publisher sends
	// again to the second, without a session there.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		n, err := harness.CheckOrderAcross([][]harness.Message{onFirst.Messages(), onSecond.Messages()}, tools, before+after)
		if err == nil {
			break
		}
		if strings.Contains(err.Error(), "reordered") {
			t.Fatalf("order broken: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes, %d of %d events delivered: %v", n, tools*(before+after), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	eventually(t, 30*time.Second, connectedTo(second))
	nothingPending(t, p)
	// The messages in flight when the first node stopped are sent again
	// (result "retry"), each tool's unacknowledged tail in order.
	resent, _ := p.Publisher.Metric(`nemo_publisher_messages_total{result="retry"}`)
	t.Logf("through the first node: %d distinct events of %d; through the second: %d; sent again: %.0f",
		harness.Distinct(onFirst.Messages()), tools*(before+after), harness.Distinct(onSecond.Messages()), resent)

	// The logs name the broker of each attempt, the second once it is the
	// one connected; never the password, nor a piece of it.
	log := readLog(t, p.Env, "publisher")
	connectedLine := ""
	for line := range strings.Lines(log) {
		if strings.Contains(line, "connected to MQTT broker") && strings.Contains(line, "broker="+second) {
			connectedLine = line
		}
	}
	if connectedLine == "" {
		t.Errorf("the publisher never logged that it connected to %s", second)
	}
	if !strings.Contains(log, "broker="+first) {
		t.Errorf("the publisher's log never names the first broker %s", first)
	}
	for _, part := range []string{password, "Br,9k", "9k-q;z", "9k-q%3Bz"} {
		if strings.Contains(log, part) {
			t.Errorf("the publisher's log shows the password (%q)", part)
		}
	}
}
