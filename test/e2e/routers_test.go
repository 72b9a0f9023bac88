package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/shardhash"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// Two router replicas, one ingest given both, one publisher. Ingest pins
// each tool to one router; one router is killed mid-run, and once its
// stream has stayed closed for -router-failover its tools move to the
// other router, their events in flight first: every event arrives, in
// order per tool, nothing stays pending, both routers routed before the
// kill, and the survivor routed the moved tools' events after it.
func TestRouterReplicaKilledMidRunMovesItsToolsInOrder(t *testing.T) {
	t.Parallel()
	const tools, perTool = 48, 200
	p := startRedisAndBroker(t, harness.MosquittoOptions{})
	env, bin := p.Env, p.Bin
	var err error
	if p.Publisher, err = env.StartService(bin, "publisher", "-mqtt-url", p.Broker.TLSURL(), "-mqtt-ca-file", p.PKI.CAFile,
		"-mqtt-client-id", fmt.Sprintf("bridge-%d", time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	routers := make([]*harness.Service, 2)
	for i := range routers {
		if routers[i], err = env.StartServiceAs(fmt.Sprintf("router-%d", i), bin, "router",
			"-publisher-addr", p.Publisher.GRPCAddr, "-redis-url", p.Redis.URL(1)); err != nil {
			t.Fatal(err)
		}
	}
	addrs := []string{routers[0].GRPCAddr, routers[1].GRPCAddr}
	for _, s := range append([]*harness.Service{p.Publisher}, routers...) {
		if err := s.WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if p.Ingest, err = env.StartService(bin, "ingest", "-redis-url", p.Redis.URL(1),
		"-router-addr", addrs[0]+","+addrs[1], "-router-failover", "2s"); err != nil {
		t.Fatal(err)
	}
	if err := p.Ingest.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	p.Router = routers[0]

	// Which router each tool starts on: the first of its ranking, both
	// being up when ingest reads its first event.
	const killed, survivor = 1, 0
	moving, staying := 0, 0
	for id := range tools {
		if shardhash.Rank(fmt.Sprintf("tool:%d", id), addrs)[0] == killed {
			moving++
		} else {
			staying++
		}
	}
	if moving == 0 || staying == 0 {
		t.Fatalf("%d tools start on the router to be killed and %d on the other: the test needs both", moving, staying)
	}

	sub := subscribe(t, p, "nemo/tools/+/enabled")
	written := writeSlowly(p, harness.Events(tools*perTool, tools, 0), 1200)
	waitForCount(t, sub, tools*perTool/5)
	for i, r := range routers {
		n, err := r.Metric(`nemo_router_events_total{outcome="delivered"}`)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("router %d routed nothing before the kill: ingest did not spread the tools", i)
		}
	}
	routers[killed].Kill9()
	killedAt := time.Now()
	if got := harness.Distinct(sub.Messages()); got >= tools*perTool*3/4 {
		t.Fatalf("%d of %d events arrived before the router was killed; the test proves little", got, tools*perTool)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 90*time.Second)
	nothingPending(t, p)
	t.Logf("every event arrived in order %s after the kill", time.Since(killedAt).Round(10*time.Millisecond))

	repins, err := p.Ingest.Metric("nemo_ingest_router_repins_total")
	if err != nil {
		t.Fatal(err)
	}
	if repins == 0 || repins > float64(moving) {
		t.Errorf("ingest re-pinned %v tools, want between 1 and the %d that started on the killed router", repins, moving)
	}
	// The survivor routes its own tools' events once each (its stream
	// never broke): anything beyond them is the moved tools'.
	delivered, err := routers[survivor].Metric(`nemo_router_events_total{outcome="delivered"}`)
	if err != nil {
		t.Fatal(err)
	}
	if own := float64(staying * perTool); delivered <= own {
		t.Errorf("the surviving router delivered %v events, its own tools have %v: it routed none of the moved tools'", delivered, own)
	}
	for i, want := range map[int]float64{killed: 0, survivor: 1} {
		sample := fmt.Sprintf(`nemo_ingest_router_connected{router=%q}`, addrs[i])
		if got, err := p.Ingest.Metric(sample); err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", sample, got, err, want)
		}
	}
	t.Logf("%d tools on the killed router, %v re-pinned; the survivor delivered %v events (%d of its own)", moving, repins, delivered, staying*perTool)
}
