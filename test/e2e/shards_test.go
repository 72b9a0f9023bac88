package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

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
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	p := &harness.Pipeline{Env: env, Bin: bin}
	if p.Redis, err = env.StartRedis(); err != nil {
		t.Fatal(err)
	}
	if p.PKI, err = env.NewPKI(); err != nil {
		t.Fatal(err)
	}
	if p.Broker, err = env.StartMosquitto(p.PKI, harness.MosquittoOptions{LogPublishes: true}); err != nil {
		t.Fatal(err)
	}
	active := make([]*harness.Service, shards)
	standby := make([]*harness.Service, shards)
	var addrs []string
	for i := range shards {
		id := fmt.Sprintf("shard-%d", i)
		args := []string{"-mqtt-url", p.Broker.TLSURL(), "-mqtt-ca-file", p.PKI.CAFile,
			"-mqtt-client-id", id, "-status-topic", "nemo/bridge/" + id + "/status",
			"-lease-redis-url", p.Redis.URL(1), "-redis-url", p.Redis.URL(1), "-lease-ttl", "3s"}
		if active[i], err = env.StartServiceAs(id+"-a", bin, "publisher", args...); err != nil {
			t.Fatal(err)
		}
		if err := active[i].WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		if standby[i], err = env.StartServiceAs(id+"-b", bin, "publisher", args...); err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, active[i].GRPCAddr+","+standby[i].GRPCAddr)
	}
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
		if i == 1 {
			want = 2 // the killed one, then its standby
		}
		if got := strings.Count(log, "as "+id+" "); got != want {
			t.Errorf("broker saw %d connections as %s, want %d:\n%s", got, id, want, grep(log, "as "+id+" "))
		}
	}
	// Which shard published each tool's messages.
	publishedBy := map[string]map[string]bool{}
	for _, m := range regexp.MustCompile(`Received PUBLISH from (shard-\d) \([^']*'nemo/tools/(\d+)/enabled'`).FindAllStringSubmatch(log, -1) {
		if publishedBy[m[2]] == nil {
			publishedBy[m[2]] = map[string]bool{}
		}
		publishedBy[m[2]][m[1]] = true
	}
	if len(publishedBy) != tools {
		t.Fatalf("the broker's log shows publishes for %d tools, want %d", len(publishedBy), tools)
	}
	perShard := map[string]int{}
	for tool, by := range publishedBy {
		if len(by) != 1 {
			t.Errorf("tool %s was published by %d shards (%v): a tool belongs to one", tool, len(by), by)
		}
		for id := range by {
			perShard[id]++
		}
	}
	if len(perShard) != shards {
		t.Errorf("tools per shard: %v, want every shard to own some", perShard)
	}
}
