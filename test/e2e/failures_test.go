package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// writeInBackground writes events a few hundred at a time, so that a
// failure can strike mid-run.
func writeInBackground(t *testing.T, p *harness.Pipeline, evs []harness.TestEvent) <-chan error {
	done := make(chan error, 1)
	go func() {
		envs := harness.Envelopes(evs)
		rdb := p.Redis.Client(1)
		defer rdb.Close()
		for i := 0; i < len(envs); i += 250 {
			if err := harness.XAdd(context.Background(), rdb, "nemo:events", envs[i:min(i+250, len(envs))]); err != nil {
				done <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		done <- nil
	}()
	return done
}

func waitForCount(t *testing.T, sub *harness.Subscriber, n int) {
	t.Helper()
	if err := sub.WaitFor(60*time.Second, func(msgs []harness.Message) (bool, string) {
		got := harness.Distinct(msgs)
		return got >= n, fmt.Sprintf("%d of %d distinct messages", got, n)
	}); err != nil {
		t.Fatal(err)
	}
}

func TestRouterKilledMidRunLosesNothing(t *testing.T) {
	t.Parallel()
	const tools, perTool = 50, 200
	p := startPipeline(t, harness.PipelineOptions{})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	written := writeInBackground(t, p, harness.Events(tools*perTool, tools, 0))
	waitForCount(t, sub, 2000)
	p.Router.Kill9()
	if got := harness.Distinct(sub.Messages()); got >= tools*perTool {
		t.Fatalf("all %d events arrived before the router was killed; the test proves nothing", got)
	}
	time.Sleep(time.Second)
	if err := p.Router.Start(); err != nil {
		t.Fatal(err)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 60*time.Second)
	nothingPending(t, p)
}

func TestBrokerDownTenSecondsDelaysButLosesNothing(t *testing.T) {
	t.Parallel()
	const tools, perTool, window = 50, 500, 500
	p := startPipeline(t, harness.PipelineOptions{Ingest: []string{"-window", strconv.Itoa(window)}, GateBridge: true})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	first := harness.Events(tools*100, tools, 0)
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", harness.Envelopes(first)); err != nil {
		t.Fatal(err)
	}
	waitForCount(t, sub, 1000)
	p.BridgeGate.Shut() // the bridge may come back only after the subscriber, see Gate
	if err := p.Broker.Stop(); err != nil {
		t.Fatalf("stop broker: %v", err)
	}
	rssBefore := rss(t, p.Ingest.PID())
	// 20,000 more events wait in Redis while the broker is away.
	rest := harness.Events(tools*(perTool-100), tools, 100)
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", harness.Envelopes(rest)); err != nil {
		t.Fatal(err)
	}
	var peakInFlight float64
	var peakRSS int
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		inFlight, err := p.Ingest.Metric("nemo_ingest_in_flight")
		if err != nil {
			t.Fatal(err)
		}
		peakInFlight = max(peakInFlight, inFlight)
		peakRSS = max(peakRSS, rss(t, p.Ingest.PID()))
	}
	t.Logf("broker down 10 s with %d events waiting: ingest in flight at most %.0f (window %d), RSS %d kB before, %d kB at most",
		len(rest), peakInFlight, window, rssBefore, peakRSS)
	if peakInFlight > window {
		t.Errorf("ingest held %.0f events in flight, over its window of %d", peakInFlight, window)
	}
	if limit := 2*rssBefore + 50*1024; peakRSS > limit {
		t.Errorf("ingest grew from %d kB to %d kB while the broker was down (limit %d kB)", rssBefore, peakRSS, limit)
	}
	if err := p.Broker.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		if !sub.Subscribed("nemo/tools/+/enabled", 1) {
			return fmt.Errorf("the test subscriber did not come back after the broker restarted")
		}
		return nil
	})
	p.BridgeGate.Open()
	waitInOrder(t, sub, tools, perTool, 90*time.Second)
	nothingPending(t, p)
}

// rss is a process's resident memory in kB.
func rss(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(v)[0])
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func TestEveryServiceStopsCleanlyOnSIGTERM(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", harness.Envelopes(harness.Events(100, 5, 0))); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, 5, 20, 30*time.Second)
	for _, s := range []*harness.Service{p.Ingest, p.Router, p.Publisher} {
		start := time.Now()
		if err := s.Stop(); err != nil {
			t.Errorf("%s on SIGTERM: %v (want exit code 0)", s.Name, err)
		}
		if took := time.Since(start); took > 6*time.Second {
			t.Errorf("%s took %s to stop; its shutdown timeout is 5s", s.Name, took)
		}
	}
}
