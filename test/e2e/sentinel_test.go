package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// The whole bridge on a Sentinel-managed Redis (a primary, one replica,
// three sentinels), every service given the redis+sentinel:// URL, the
// publisher's lease included. The primary is killed -9 while events flow
// and Sentinel promotes the replica: every event that reached the stream
// and was replicated (WAIT) arrives, each tool's in order (duplicates
// allowed), nothing stays pending, the active publisher keeps its lease
// through the failover and the standby never takes over, and the tool
// state written after the failover is what REST serves.
func TestSentinelFailoverLosesNothingReplicated(t *testing.T) {
	t.Parallel()
	const (
		clientID       = "bridge-sentinel"
		tools, perTool = 10, 150
		ttl            = 10 * time.Second
	)
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	sr, err := env.StartSentinelRedis(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	url := sr.URL(1)
	leaseFlags := []string{"-mqtt-client-id", clientID, "-lease-redis-url", url, "-redis-url", url, "-lease-ttl", ttl.String()}
	p, err := env.StartPipeline(bin, harness.PipelineOptions{RedisURL: url, Publisher: leaseFlags})
	if err != nil {
		t.Fatal(err)
	}
	standby, err := env.StartServiceAs("publisher-standby", bin, "publisher",
		append([]string{"-mqtt-url", p.Broker.TLSURL(), "-mqtt-ca-file", p.PKI.CAFile}, leaseFlags...)...)
	if err != nil {
		t.Fatal(err)
	}
	rdb := sr.Client(1)
	defer rdb.Close()
	holder := func() string {
		v, _ := rdb.Get(context.Background(), "nemo:bridge:lease:"+clientID).Result()
		return v
	}
	activePID := fmt.Sprintf("/%d/", p.Publisher.PID())
	eventually(t, 10*time.Second, func() error {
		if h := holder(); !strings.Contains(h, activePID) {
			return fmt.Errorf("the lease is held by %q, not the active publisher (pid %d)", h, p.Publisher.PID())
		}
		return nil
	})
	// The standby must never become ready (active): watched throughout.
	var standbyActive atomic.Bool
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go func() {
		for watchCtx.Err() == nil {
			if ready(standby) {
				standbyActive.Store(true)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	sub := subscribe(t, p, "nemo/tools/+/enabled")
	var failedOver atomic.Bool
	written := writeReplicated(rdb, harness.Envelopes(harness.Events(tools*perTool, tools, 0)), &failedOver)
	waitForCount(t, sub, 300)

	c := ctx(t)
	old, err := sr.PrimaryAddr(c)
	if err != nil {
		t.Fatal(err)
	}
	sr.Primary.Kill9()
	killed := time.Now()
	eventually(t, 60*time.Second, func() error {
		now, err := sr.PrimaryAddr(c)
		if err != nil || now == old {
			return fmt.Errorf("the sentinels still name %s as the primary (%v)", now, err)
		}
		return nil
	})
	failedOver.Store(true)
	t.Logf("the primary was killed; the sentinels named the replica %s primary after %s", sr.Replica.Addr, time.Since(killed).Round(10*time.Millisecond))
	if got := harness.Distinct(sub.Messages()); got >= tools*perTool {
		t.Fatalf("all %d events arrived before the failover; the test proves nothing", got)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 90*time.Second)
	eventually(t, 30*time.Second, func() error {
		pending, err := rdb.XPending(context.Background(), "nemo:events", "nemo-bridge").Result()
		if err != nil {
			return err
		}
		if pending.Count != 0 {
			return fmt.Errorf("%d entries still pending in the consumer group", pending.Count)
		}
		return nil
	})

	// The lease: still the active publisher's, and the broker saw one
	// session of the client id throughout.
	if h := holder(); !strings.Contains(h, activePID) {
		t.Errorf("after the failover the lease is held by %q, not the active publisher (pid %d)", h, p.Publisher.PID())
	}
	if !ready(p.Publisher) {
		t.Error("the active publisher is no longer active after the failover")
	}
	stopWatch()
	if standbyActive.Load() {
		t.Error("the standby publisher became active during the failover")
	}
	log, err := p.Broker.Log()
	if err != nil {
		t.Fatal(err)
	}
	if connects, err := sessionsOneAtATime(log, clientID); err != nil || connects != 1 {
		t.Errorf("client id %s: %d connections (want 1: the active publisher throughout), %v:\n%s", clientID, connects, err, grep(log, clientID))
	}

	// The tool state, written after the failover: even tools disabled now,
	// odd ones still in use, as REST says (tool 0 is not a tool id REST
	// takes).
	disable := disableEvenTools(tools)
	if err := harness.XAdd(c, rdb, "nemo:events", disable); err != nil {
		t.Fatal(err)
	}
	gw, err := p.StartGateway()
	if err != nil {
		t.Fatal(err)
	}
	waitForOddToolsInUse(t, gw.HTTPAddr, tools)
}

// writeReplicated writes envelopes to the stream a hundred at a time and
// makes sure of each batch before the next: WAIT must say a replica has
// it, else the batch is written again (duplicates are allowed, a loss is
// not). Once failedOver, the new primary is the only copy and a written
// batch is enough.
func writeReplicated(rdb *redis.Client, envs []string, failedOver *atomic.Bool) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		for i := 0; i < len(envs); i += 100 {
			for {
				if ctx.Err() != nil {
					done <- fmt.Errorf("batch at %d never written and replicated: %w", i, ctx.Err())
					return
				}
				if err := harness.XAdd(ctx, rdb, "nemo:events", envs[i:min(i+100, len(envs))]); err == nil {
					n, err := rdb.Wait(ctx, 1, time.Second).Result()
					if err == nil && (n >= 1 || failedOver.Load()) {
						break
					}
				}
				time.Sleep(200 * time.Millisecond)
			}
			time.Sleep(30 * time.Millisecond)
		}
		done <- nil
	}()
	return done
}
