package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/shardhash"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// Three publisher shards, each an active publisher and a standby with its
// own client id and lease. The active publisher of one shard is killed
// mid-run: its standby takes the shard over, every event arrives in order
// per tool, each tool is published by one shard only, and no client id is
// ever connected from two processes at once.
func TestShardedPublishersLoseAShardWithoutLosingOrder(t *testing.T) {
	t.Parallel()
	const shards, tools, perTool = 3, 60, 100
	p := startRedisAndBroker(t, harness.MosquittoOptions{LogPublishes: true})
	env, bin := p.Env, p.Bin
	active := make([]*harness.Service, shards)
	standby := make([]*harness.Service, shards)
	var addrs []string
	for i := range shards {
		active[i] = startShardPublisher(t, p, i, "a")
		if err := active[i].WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		standby[i] = startShardPublisher(t, p, i, "b")
		addrs = append(addrs, active[i].GRPCAddr+","+standby[i].GRPCAddr)
	}
	var err error
	if p.Router, err = env.StartService(bin, "router", "-publisher-addr", strings.Join(addrs, ";"), "-redis-url", p.Redis.URL(1)); err != nil {
		t.Fatal(err)
	}
	if p.Ingest, err = env.StartService(bin, "ingest", "-redis-url", p.Redis.URL(1), "-router-addr", p.Router.GRPCAddr); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*harness.Service{p.Router, p.Ingest} {
		if err := s.WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	p.Publisher = active[0]
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	written := writeInBackground(t, p, harness.Events(tools*perTool, tools, 0))
	waitForCount(t, sub, tools*perTool/4)
	active[1].Kill9()
	killedAt := time.Now()
	if err := standby[1].WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("shard 1's standby connected %s after its active publisher was killed", time.Since(killedAt).Round(10*time.Millisecond))
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 60*time.Second)
	nothingPending(t, p)

	perToolShards := publishersPerTool(t, p, shards, 1, 2) // shard 1: the killed one, then its standby
	if len(perToolShards) != tools {
		t.Fatalf("the broker's log shows publishes for %d tools, want %d", len(perToolShards), tools)
	}
	perShard := map[string]int{}
	for tool, by := range perToolShards {
		if len(by) != 1 {
			t.Errorf("tool %s was published by %v: a tool belongs to one shard", tool, by)
		}
		perShard[by[0]]++
	}
	if len(perShard) != shards {
		t.Errorf("tools per shard: %v, want every shard to own some", perShard)
	}
}

// Two shards become three mid-run: a third shard's publisher starts and
// the router restarts with it in -publisher-addr, as a changed
// configuration rolls out. The tools the new shard takes move only once
// their old shard answered everything of them: the broker's log shows
// each tool published by its old shard, then only by its new one, never
// the two interleaved; every event arrives in order per tool.
func TestShardsGrowFromTwoToThreeMidRun(t *testing.T) {
	t.Parallel()
	const tools, perTool = 40, 250
	p := startRedisAndBroker(t, harness.MosquittoOptions{LogPublishes: true})
	env, bin := p.Env, p.Bin
	shard := []*harness.Service{startShardPublisher(t, p, 0, "a"), startShardPublisher(t, p, 1, "a")}
	var err error
	if p.Router, err = env.StartService(bin, "router", "-publisher-addr", shard[0].GRPCAddr+";"+shard[1].GRPCAddr, "-redis-url", p.Redis.URL(1)); err != nil {
		t.Fatal(err)
	}
	if p.Ingest, err = env.StartService(bin, "ingest", "-redis-url", p.Redis.URL(1), "-router-addr", p.Router.GRPCAddr); err != nil {
		t.Fatal(err)
	}
	for _, s := range append(shard, p.Router, p.Ingest) {
		if err := s.WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	p.Publisher = shard[0]
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	written := writeSlowly(p, harness.Events(tools*perTool, tools, 0), 1000)
	waitForCount(t, sub, tools*perTool/5)

	shard = append(shard, startShardPublisher(t, p, 2, "a"))
	if err := shard[2].WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Router.Stop(); err != nil {
		t.Fatal(err)
	}
	p.Router.SetFlag("-publisher-addr", shard[0].GRPCAddr+";"+shard[1].GRPCAddr+";"+shard[2].GRPCAddr)
	if err := p.Router.Start(); err != nil {
		t.Fatal(err)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 90*time.Second)
	nothingPending(t, p)

	moved := 0
	for tool, by := range publishersPerTool(t, p, 3) {
		id, _ := strconv.Atoi(tool)
		want := fmt.Sprintf("shard-%d", shardhash.Owner(fmt.Sprintf("tool:%d", id), 3))
		if by[len(by)-1] != want {
			t.Errorf("tool %s was published last by %v, want %s, its owner among three shards", tool, by, want)
		}
		if len(by) == 2 {
			moved++
			if by[0] == want || by[1] != "shard-2" {
				t.Errorf("tool %s moved from %s to %s: only the new shard takes tools", tool, by[0], by[1])
			}
		}
	}
	if moved == 0 {
		t.Error("no tool moved to the new shard")
	}
	t.Logf("%d of %d tools moved to the new shard", moved, tools)
}

// startShardPublisher starts a publisher of shard i (client id shard-<i>,
// its own lease and status topic); instance tells two of a shard apart.
func startShardPublisher(t *testing.T, p *harness.Pipeline, i int, instance string) *harness.Service {
	t.Helper()
	id := fmt.Sprintf("shard-%d", i)
	s, err := p.Env.StartServiceAs(id+"-"+instance, p.Bin, "publisher", "-mqtt-url", p.Broker.TLSURL(), "-mqtt-ca-file", p.PKI.CAFile,
		"-mqtt-client-id", id, "-status-topic", "nemo/bridge/"+id+"/status",
		"-lease-redis-url", p.Redis.URL(1), "-redis-url", p.Redis.URL(1), "-lease-ttl", "3s")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publishersPerTool reads from the broker's log which shards published
// each tool's messages, in the order each first began, after checking
// that no client id was ever connected from two processes at once and
// that shard i connected connects[i] times (1 for all by default).
func publishersPerTool(t *testing.T, p *harness.Pipeline, shards int, connects ...int) map[string][]string {
	t.Helper()
	log, err := p.Broker.Log()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log, "already connected") {
		t.Errorf("a client id was connected from two processes at once:\n%s", grep(log, "already connected"))
	}
	for i := range shards {
		id := fmt.Sprintf("shard-%d", i)
		want := 1
		if i < len(connects) {
			want = connects[i]
		}
		if got := strings.Count(log, "as "+id+" "); got != want {
			t.Errorf("broker saw %d connections as %s, want %d:\n%s", got, id, want, grep(log, "as "+id+" "))
		}
	}
	by := map[string][]string{}
	for _, m := range regexp.MustCompile(`Received PUBLISH from (shard-\d) \([^']*'nemo/tools/(\d+)/enabled'`).FindAllStringSubmatch(log, -1) {
		seen := by[m[2]]
		if len(seen) == 0 || seen[len(seen)-1] != m[1] {
			if slices.Contains(seen, m[1]) {
				t.Errorf("tool %s was published by %s again after %v: two sessions carried it at once", m[2], m[1], seen)
			}
			by[m[2]] = append(seen, m[1])
		}
	}
	return by
}

// writeSlowly writes evs to the stream at about perSecond, in the
// background, so that a run lasts long enough for a change mid-run.
func writeSlowly(p *harness.Pipeline, evs []harness.TestEvent, perSecond int) <-chan error {
	const every = 20 * time.Millisecond
	return writeInBatches(p, evs, max(1, perSecond*int(every/time.Millisecond)/1000), every)
}
