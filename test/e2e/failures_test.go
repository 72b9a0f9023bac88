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
	return writeInBatches(p, evs, 250, 20*time.Millisecond)
}

// writeInBatches writes evs to NEMO's stream in the background, batch at a
// time with a pause after each, and says on the channel how it ended.
func writeInBatches(p *harness.Pipeline, evs []harness.TestEvent, batch int, pause time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		envs := harness.Envelopes(evs)
		rdb := p.Redis.Client(1)
		defer rdb.Close()
		for i := 0; i < len(envs); i += batch {
			if err := harness.XAdd(context.Background(), rdb, "nemo:events", envs[i:min(i+batch, len(envs))]); err != nil {
				done <- err
				return
			}
			time.Sleep(pause)
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

// The broker is out of reach for 30 s mid-run, the way a network outage
// cuts the bridge off: the connection through the gate is cut while
// messages are in flight, and the broker itself restarts meanwhile (which
// loses the bridge's session on mosquitto 2.0.11, so every unacknowledged
// message must be resent). Ingest's window fills and it stops reading, so
// its memory stays flat while 20,000 events wait in Redis; the gateway
// says in words that the broker cannot be reached, and since when; once
// the broker is back every event arrives, in order per tool.
func TestBrokerUnreachableThirtySecondsDelaysButLosesNothing(t *testing.T) {
	t.Parallel()
	const tools, perTool, window = 50, 500, 500
	const outage = 30 * time.Second
	p := startPipeline(t, harness.PipelineOptions{Ingest: []string{"-window", strconv.Itoa(window)}, GateBridge: true})
	gw, err := p.StartGateway()
	if err != nil {
		t.Fatal(err)
	}
	health := "http://" + gw.HTTPAddr + "/v1/health"
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	first := harness.Events(tools*100, tools, 0)
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", harness.Envelopes(first)); err != nil {
		t.Fatal(err)
	}
	waitForCount(t, sub, 1000)
	p.BridgeGate.Cut()
	cutAt := time.Now()
	rssStart := rss(t, p.Ingest.PID())
	if got := harness.Distinct(sub.Messages()); got >= len(first) {
		t.Fatalf("all %d events arrived before the cut; the test proves nothing", got)
	}
	// The broker restarts during the outage; the bridge may come back
	// only after the test subscriber, see Gate.
	if err := p.Broker.Stop(); err != nil {
		t.Fatalf("stop broker: %v", err)
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
	// 20,000 more events wait in Redis while the broker is away.
	rest := harness.Events(tools*(perTool-100), tools, 100)
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", harness.Envelopes(rest)); err != nil {
		t.Fatal(err)
	}
	var inFlight, peakInFlight float64
	var peakRSS int
	var down restHealth
	for time.Since(cutAt) < outage {
		var err error
		if inFlight, err = p.Ingest.Metric("nemo_ingest_in_flight"); err != nil {
			t.Fatal(err)
		}
		peakInFlight = max(peakInFlight, inFlight)
		peakRSS = max(peakRSS, rss(t, p.Ingest.PID()))
		if down.Summary == "" {
			var h restHealth
			getJSON(t, health, &h)
			if !h.Healthy && strings.Contains(h.Summary, "cannot reach the MQTT broker") {
				down = h
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	rssEnd := rss(t, p.Ingest.PID())
	t.Logf("broker unreachable %s with %d events waiting: ingest in flight %.0f at the end, at most %.0f (window %d); ingest RSS %d kB at the start, %d kB at the end, %d kB at most",
		outage, len(rest), inFlight, peakInFlight, window, rssStart, rssEnd, peakRSS)
	t.Logf("health during the outage: %s", down.Summary)
	// A full window reads again only once a batch fits, a quarter of
	// this window: it stops with a quarter at most left free.
	if inFlight < window-window/4 || peakInFlight > window {
		t.Errorf("ingest in flight %.0f at the end and %.0f at most, want it to stop reading with its window of %d full, but for less than a quarter of it", inFlight, peakInFlight, window)
	}
	if limit := rssStart + 50*1024; rssEnd > limit || peakRSS > limit {
		t.Errorf("ingest grew from %d kB to %d kB (at most %d kB) while the broker was away (limit %d kB)", rssStart, rssEnd, peakRSS, limit)
	}
	if down.Summary == "" {
		t.Error("GET /v1/health never said that the bridge cannot reach the MQTT broker during the outage")
	} else if !strings.Contains(down.Summary, " since ") {
		t.Errorf("the health summary does not say since when: %s", down.Summary)
	}

	p.BridgeGate.Open()
	openedAt := time.Now()
	waitForCount(t, sub, harness.Distinct(sub.Messages())+1)
	t.Logf("first message %s after the broker could be reached again", time.Since(openedAt).Round(time.Millisecond))
	waitInOrder(t, sub, tools, perTool, 90*time.Second)
	t.Logf("all %d events in order %s after the broker could be reached again", tools*perTool, time.Since(openedAt).Round(time.Millisecond))
	nothingPending(t, p)
	eventually(t, 20*time.Second, func() error {
		var h restHealth
		getJSON(t, health, &h)
		if !h.Healthy {
			return fmt.Errorf("health after the outage: %s", h.Summary)
		}
		return nil
	})
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

// A rolling update sends SIGTERM to one pod at a time while events flow.
// Each service in turn is stopped mid-run (exit code 0 within its
// shutdown timeout) and started again: what it had in flight is finished
// or handed back, so every event arrives, in order per tool, and nothing
// stays pending in Redis.
func TestSIGTERMToEachServiceMidRunLosesNothing(t *testing.T) {
	t.Parallel()
	const tools, perTool = 50, 400
	p := startPipeline(t, harness.PipelineOptions{})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	written := writeInBackground(t, p, harness.Events(tools*perTool, tools, 0))
	for i, s := range []*harness.Service{p.Ingest, p.Router, p.Publisher} {
		waitForCount(t, sub, 2000+i*3000)
		start := time.Now()
		if err := s.Stop(); err != nil {
			t.Errorf("%s on SIGTERM mid-run: %v (want exit code 0)", s.Name, err)
		}
		if took := time.Since(start); took > 6*time.Second {
			t.Errorf("%s took %s to stop mid-run; its shutdown timeout is 5s", s.Name, took)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if got := harness.Distinct(sub.Messages()); got >= tools*perTool {
		t.Fatalf("all %d events arrived before the last SIGTERM; the test proves nothing", got)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 60*time.Second)
	nothingPending(t, p)
}
