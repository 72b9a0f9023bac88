package e2e

import (
	"context"
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
// the first stops in the middle of a run, with messages in flight, it goes
// on with the second, which has no session for it, which it tells in
// GetSession and its logs (never with the password); it sends again what
// the first did not acknowledge, and every event is delivered, each
// tool's in order, nothing left pending in Redis.
func TestClusterBrokersFailOverToTheNextURL(t *testing.T) {
	t.Parallel()
	const (
		// The password holds a comma, and what follows it does not begin
		// with a scheme: it must not split the list there.
		password = "Br,9k-q;z"
		tools    = 6
		perTool  = 400
		chunk    = 10 // events per tool written at a time
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
		// The publisher reaches the first node through a gate, which holds
		// its messages at the moment the node stops: they are in flight,
		// never acknowledged, and must be sent again to the second node.
		GateBridge: true,
		MQTTURL: func(p *harness.Pipeline) string {
			return "mqtts://bridge:" + password + "@" + p.BridgeGate.Addr + ",mqtts://bridge:" + password + "@" + p.Peer.TLSAddr
		},
	})
	first := "mqtts://bridge:xxxxx@" + p.BridgeGate.Addr
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
	// NEMO writes all along: a chunk at a time, paced so that messages
	// are in flight whenever the first node stops.
	all := harness.Events(tools*perTool, tools, 0)
	written := make(chan error, 1)
	go func() {
		for i := 0; i < len(all); i += tools * chunk {
			if err := harness.XAdd(context.Background(), rdb, "nemo:events", harness.Envelopes(all[i:min(i+tools*chunk, len(all))])); err != nil {
				written <- err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		written <- nil
	}()
	// Mid-run: the first node stops as soon as a quarter of the events went
	// through it (checked at each arrival), and the writing goes on.
	if err := onFirst.WaitFor(30*time.Second, func(msgs []harness.Message) (bool, string) {
		n := harness.Distinct(msgs)
		return n >= len(all)/4, fmt.Sprintf("%d of %d events through the first node", n, len(all))
	}); err != nil {
		t.Fatal(err)
	}
	p.BridgeGate.Freeze()
	eventually(t, 30*time.Second, func() error {
		if n, err := p.Router.Metric("nemo_router_messages_pending"); err != nil || n == 0 {
			return fmt.Errorf("no message in flight yet (%v, %v)", n, err)
		}
		return nil
	})
	if err := p.Broker.Stop(); err != nil {
		t.Logf("stopping the first node: %v", err)
	}
	p.BridgeGate.Cut() // the publisher's connection to the first node ends with it
	p.BridgeGate.Thaw()
	if err := <-written; err != nil {
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
		n, err := harness.CheckOrderAcross([][]harness.Message{onFirst.Messages(), onSecond.Messages()}, tools, perTool)
		if err == nil {
			break
		}
		if strings.Contains(err.Error(), "reordered") {
			t.Fatalf("order broken: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes, %d of %d events delivered: %v", n, len(all), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	eventually(t, 30*time.Second, connectedTo(second))
	nothingPending(t, p)
	// The messages in flight when the first node stopped are sent again
	// (result "retry"), each tool's unacknowledged tail in order: the
	// second node had no session for the bridge.
	resent, err := p.Publisher.Metric(`nemo_publisher_messages_total{result="retry"}`)
	if err != nil || resent == 0 {
		t.Errorf("no message was sent again (%v): none was in flight when the first node stopped?", err)
	}
	t.Logf("through the first node: %d distinct events of %d; through the second: %d; sent again: %.0f",
		harness.Distinct(onFirst.Messages()), len(all), harness.Distinct(onSecond.Messages()), resent)

	// The logs name the broker of each attempt as dialled (no login in
	// it), the second once it is the one connected; never the password,
	// nor a piece of it.
	log := readLog(t, p.Env, "publisher")
	loggedFirst, loggedSecond := "broker=tls://"+p.BridgeGate.Addr, "broker=tls://"+p.Peer.TLSAddr
	connectedLine := ""
	for line := range strings.Lines(log) {
		if strings.Contains(line, "connected to MQTT broker") && strings.Contains(line, loggedSecond) {
			connectedLine = line
		}
	}
	if connectedLine == "" {
		t.Errorf("the publisher never logged that it connected to %s", loggedSecond)
	}
	if !strings.Contains(log, "cannot connect to MQTT broker") || !strings.Contains(log, loggedFirst) {
		t.Errorf("the publisher's log never says that it could not connect to the first broker (%s)", loggedFirst)
	}
	if !strings.Contains(connectedLine, "session_present=false") {
		t.Errorf("the second broker had a session for the bridge: %s", connectedLine)
	}
	for _, part := range []string{password, "Br,9k", "9k-q;z", "9k-q%3Bz"} {
		if strings.Contains(log, part) {
			t.Errorf("the publisher's log shows the password (%q)", part)
		}
	}
}
