package statusapi

import (
	"errors"
	"strings"
	"testing"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

func activeAnswer(addr, id string) sessionAnswer {
	return sessionAnswer{addr: addr, session: &publisherv1.GetSessionResponse{ClientId: id, Connected: true, Broker: "mqtts://broker:8883"}}
}

func standbyAnswer(addr, id string) sessionAnswer {
	return sessionAnswer{addr: addr, session: &publisherv1.GetSessionResponse{ClientId: id, Standby: true}}
}

// With shards, the page says which shard has no active publisher: that
// shard's tools wait while the others flow.
func TestShardedHopsNameTheShardWhoseToolsWait(t *testing.T) {
	shards := [][]sessionAnswer{
		{activeAnswer("a0", "nemo-bridge-0"), standbyAnswer("b0", "nemo-bridge-0")},
		{standbyAnswer("b1", "nemo-bridge-1"), {addr: "a1", err: errors.New("connection refused")}},
		{activeAnswer("a2", "nemo-bridge-2")},
	}
	pub, broker := shardedHops(shards)
	if pub.GetHealthy() || pub.GetSummary() != "shard 1 (nemo-bridge-1): only standbys run: none holds the MQTT session; the tools of that shard wait" {
		t.Errorf("publisher hop: healthy %v, %q", pub.GetHealthy(), pub.GetSummary())
	}
	if broker.GetHealthy() || broker.GetSummary() != "shard 1 (nemo-bridge-1): not connected: no publisher is active" {
		t.Errorf("broker hop: healthy %v, %q", broker.GetHealthy(), broker.GetSummary())
	}
	if !strings.Contains(pub.GetDetail(), "shard 0 (nemo-bridge-0): running, with 1 on standby (a0 is active; standby: b0)") {
		t.Errorf("publisher detail %q does not say shard 0's state", pub.GetDetail())
	}

	shards[1][0] = activeAnswer("b1", "nemo-bridge-1")
	pub, broker = shardedHops(shards)
	if !pub.GetHealthy() || pub.GetSummary() != "running in all 3 shards" || !broker.GetHealthy() || broker.GetSummary() != "connected: 3 sessions, one per shard" {
		t.Errorf("every shard active: publisher %v %q, broker %v %q", pub.GetHealthy(), pub.GetSummary(), broker.GetHealthy(), broker.GetSummary())
	}
}

// One shard reads as before shards existed.
func TestOneShardsHopsAreItsOwn(t *testing.T) {
	pub, broker := shardedHops([][]sessionAnswer{{activeAnswer("a", "nemo-bridge")}})
	if !pub.GetHealthy() || pub.GetSummary() != "running" || broker.GetSummary() != "connected to mqtts://broker:8883" {
		t.Errorf("one shard: publisher %q, broker %q", pub.GetSummary(), broker.GetSummary())
	}
	pub, _ = shardedHops(nil)
	if pub.GetHealthy() {
		t.Error("no publisher at all reads as healthy")
	}
}

// With router replicas the hop names the one that is not working: its
// tools move to the others.
func TestRouterReplicasHopNamesTheOneDown(t *testing.T) {
	up := &statusv1.Hop{Name: hopRouter, Healthy: true, Summary: "turning events into messages", Detail: "router-0.router:7002"}
	down := &statusv1.Hop{Name: hopRouter, Summary: "not running, or not reachable at router-1.router:7002", Detail: "connection refused"}
	if h := routersHop([]*statusv1.Hop{up}); h != up {
		t.Errorf("one router's hop is not its own: %v", h)
	}
	h := routersHop([]*statusv1.Hop{up, up})
	if !h.GetHealthy() || h.GetSummary() != "turning events into messages (2 routers)" {
		t.Errorf("both up: %v %q", h.GetHealthy(), h.GetSummary())
	}
	h = routersHop([]*statusv1.Hop{up, down})
	if h.GetHealthy() || h.GetSummary() != "1 of 2 routers: not running, or not reachable at router-1.router:7002; their tools move to the others" {
		t.Errorf("one down: %v %q", h.GetHealthy(), h.GetSummary())
	}
	h = routersHop([]*statusv1.Hop{down, down})
	if h.GetHealthy() || !strings.HasPrefix(h.GetSummary(), "not running") {
		t.Errorf("both down: %v %q (the page reads 'not running' as down)", h.GetHealthy(), h.GetSummary())
	}
}
