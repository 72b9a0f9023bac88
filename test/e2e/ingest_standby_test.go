package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// Two ingests with the same configuration: one reads the stream, the other
// stands by without reading (one consumer in the group, the standby's
// nemo_ingest_events_read_total 0, not ready). When the active one is
// killed mid-run, the standby takes over within about -lease-ttl and
// reads what the dead one left pending first (they share the consumer
// name): every event arrives, in order per tool, and nothing stays
// pending.
func TestIngestStandbyTakesOverTheStream(t *testing.T) {
	t.Parallel()
	ingestStandbyTakesOver(t, "stream", func(ctx context.Context, rdb redis.UniversalClient, envs []string) error {
		return harness.XAdd(ctx, rdb, "nemo:events", envs)
	})
}

// The same with the NEMO plugin's list: the dead one's entries in flight
// wait in the processing list, which the standby reads again first.
func TestIngestStandbyTakesOverTheList(t *testing.T) {
	t.Parallel()
	ingestStandbyTakesOver(t, "list", func(ctx context.Context, rdb redis.UniversalClient, envs []string) error {
		return harness.LPush(ctx, rdb, "nemo_mqtt_events", envs)
	})
}

func ingestStandbyTakesOver(t *testing.T, mode string, write func(context.Context, redis.UniversalClient, []string) error) {
	const tools, perTool = 20, 200
	flags := []string{"-ingest-mode", mode, "-lease-ttl", "3s"}
	p := startPipeline(t, harness.PipelineOptions{Ingest: flags})
	active := p.Ingest
	standby, err := p.Env.StartServiceAs("ingest-b", p.Bin, "ingest",
		append([]string{"-redis-url", p.RedisURL(), "-router-addr", p.Router.GRPCAddr}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		if log := serviceLog(t, p.Env, "ingest-b"); !strings.Contains(log, "another ingest holds the lease; standing by") {
			return fmt.Errorf("the second ingest has not said that it stands by")
		}
		return nil
	})
	rdb := p.Redis.Client(1)
	defer rdb.Close()

	sub := subscribe(t, p, "nemo/tools/+/enabled")
	written := make(chan error, 1)
	go func() {
		envs := harness.Envelopes(harness.Events(tools*perTool, tools, 0))
		for i := 0; i < len(envs); i += 250 {
			if err := write(context.Background(), rdb, envs[i:min(i+250, len(envs))]); err != nil {
				written <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		written <- nil
	}()
	waitForCount(t, sub, 1000)

	// Until the active one dies, the standby reads nothing.
	if n := metric(t, standby, "nemo_ingest_events_read_total"); n != 0 {
		t.Fatalf("the standby read %v entries while the other one was active", n)
	}
	if a, s := metric(t, active, "nemo_ingest_active"), metric(t, standby, "nemo_ingest_active"); a != 1 || s != 0 {
		t.Fatalf("nemo_ingest_active: %v on the active one, %v on the standby; want 1 and 0", a, s)
	}
	if ready(standby) {
		t.Fatal("the standby says it is ready")
	}
	if mode == "stream" {
		oneConsumer(t, rdb)
	}
	if n := strings.Count(serviceLog(t, p.Env, "ingest-b"), "standing by"); n != 1 {
		t.Errorf("the standby said %d times that it stands by, want once", n)
	}

	active.Kill9()
	killedAt := time.Now()
	if got := harness.Distinct(sub.Messages()); got >= tools*perTool {
		t.Fatalf("all %d events arrived before the active ingest was killed; the test proves nothing", got)
	}
	if err := standby.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("the standby ingest was ready %s after the active one was killed", time.Since(killedAt).Round(10*time.Millisecond))
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 60*time.Second)
	if mode == "stream" {
		nothingPending(t, p)
		oneConsumer(t, rdb)
	} else {
		nothingInProcessing(t, p)
	}
	if n := metric(t, standby, "nemo_ingest_events_read_total"); n == 0 {
		t.Fatal("the standby read nothing after it took over")
	}
	if n := metric(t, standby, "nemo_ingest_active"); n != 1 {
		t.Fatalf("nemo_ingest_active is %v on the ingest that took over", n)
	}
}

// oneConsumer checks that the group has one consumer: the active ingest
// and its standby share its name, and the standby never read.
func oneConsumer(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	consumers, err := rdb.XInfoConsumers(ctx(t), "nemo:events", "nemo-bridge").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(consumers) != 1 || consumers[0].Name != "nemo-bridge" {
		t.Fatalf("the group's consumers: %+v; want one, nemo-bridge", consumers)
	}
}

func metric(t *testing.T, s *harness.Service, sample string) float64 {
	t.Helper()
	v, err := s.Metric(sample)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The active ingest's path to Redis is black-holed for twice the lease's
// TTL while events flow, and then heals, delivering what it held back: the
// active one stops reading before the standby may take over, and whatever
// read it still had on the way never runs (the new holder closed the
// connections it read through). The standby takes over; the old one stays
// a standby once Redis answers it again, and reads nothing; every event
// arrives in order, and nothing stays pending.
func TestIngestCutOffFromRedisStandsByWithoutOverlap(t *testing.T) {
	t.Parallel()
	const tools, perTool, ttl = 20, 200, 3 * time.Second
	flags := []string{"-lease-ttl", ttl.String()}
	p := startPipeline(t, harness.PipelineOptions{Ingest: flags, GateIngestRedis: true})
	active := p.Ingest
	gate, err := p.Env.StartGate(p.Redis.Addr)
	if err != nil {
		t.Fatal(err)
	}
	standby, err := p.Env.StartServiceAs("ingest-b", p.Bin, "ingest",
		append([]string{"-redis-url", "redis://" + gate.Addr + "/1", "-router-addr", p.Router.GRPCAddr}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		if !strings.Contains(serviceLog(t, p.Env, "ingest-b"), "another ingest holds the lease; standing by") {
			return fmt.Errorf("the second ingest has not said that it stands by")
		}
		return nil
	})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	written := writeInBackground(t, p, harness.Events(tools*perTool, tools, 0))
	waitForCount(t, sub, 1000)

	p.IngestRedisGate.Freeze()
	left, tookOver := readyChanges(active, false), readyChanges(standby, true)
	leftAfter, tookOverAfter := <-left, <-tookOver
	if leftAfter < 0 || tookOverAfter < 0 {
		t.Fatalf("after the freeze: the active one stopped being ready after %s, the standby became ready after %s (-1: not within 30 s)", leftAfter, tookOverAfter)
	}
	t.Logf("Redis black-holed for the active ingest: it stopped after %s, the standby took over after %s",
		leftAfter.Round(10*time.Millisecond), tookOverAfter.Round(10*time.Millisecond))
	if !strings.Contains(serviceLog(t, p.Env, "ingest-b"), "closed the connections an earlier ingest read through") {
		t.Error("the standby took over without closing the connections the old holder read through")
	}
	time.Sleep(2*ttl - tookOverAfter)
	readBefore := metric(t, active, "nemo_ingest_events_read_total")
	p.IngestRedisGate.Thaw()

	time.Sleep(ttl)
	if !active.Running() {
		t.Error("the ingest that lost the lease exited instead of standing by")
	} else if ready(active) || metric(t, active, "nemo_ingest_active") != 0 {
		t.Error("the ingest that lost the lease is active again")
	}
	if n := metric(t, active, "nemo_ingest_events_read_total"); n != readBefore {
		t.Errorf("the ingest that lost the lease read %v more entries once Redis answered it again", n-readBefore)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 60*time.Second)
	nothingPending(t, p)
	oneConsumer(t, p.Redis.Client(1))
}
