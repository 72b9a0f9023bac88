package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// The active publisher's path to Redis is black-holed for longer than the
// lease's TTL while events flow (issue 12): it must leave the broker before
// the standby may take the lease, so that the broker never sees the two
// connected at once, then stand by itself instead of exiting; no event is
// lost and each tool's stay in order.
func TestActiveCutOffFromRedisStandsByWithoutOverlap(t *testing.T) {
	t.Parallel()
	const (
		clientID      = "bridge-under-test"
		tools, perTo  = 20, 200
		ttl           = 3 * time.Second
		presenceTopic = "nemo/server/status"
	)
	p := startRedisAndBroker(t, harness.MosquittoOptions{})
	env, bin := p.Env, p.Bin
	// Each publisher reaches Redis (the lease and the plugin's status, one
	// Redis as in a lab) through a gate of its own.
	start := func(name string) (*harness.Service, *harness.Gate) {
		gate, err := env.StartGate(p.Redis.Addr)
		if err != nil {
			t.Fatal(err)
		}
		url := "redis://" + gate.Addr + "/1"
		s, err := env.StartServiceAs(name, bin, "publisher", "-mqtt-url", p.Broker.TLSURL(), "-mqtt-ca-file", p.PKI.CAFile,
			"-mqtt-client-id", clientID, "-lease-redis-url", url, "-redis-url", url,
			"-lease-ttl", ttl.String(), "-presence-topic", presenceTopic)
		if err != nil {
			t.Fatal(err)
		}
		return s, gate
	}
	active, activeGate := start("publisher-a")
	if err := active.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	standby, _ := start("publisher-b")
	router, err := env.StartService(bin, "router", "-publisher-addr", active.GRPCAddr+","+standby.GRPCAddr, "-redis-url", p.Redis.URL(1))
	if err != nil {
		t.Fatal(err)
	}
	ingest, err := env.StartService(bin, "ingest", "-redis-url", p.Redis.URL(1), "-router-addr", router.GRPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	p.Router, p.Ingest, p.Publisher = router, ingest, active
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	written := writeInBackground(t, p, harness.Events(tools*perTo, tools, 0))
	waitForCount(t, sub, 1000)

	activeGate.Freeze()
	frozenAt := time.Now()
	left, tookOver := readyChanges(active, false), readyChanges(standby, true)
	leftAfter, tookOverAfter := <-left, <-tookOver
	if leftAfter < 0 || tookOverAfter < 0 {
		t.Fatalf("after the freeze: the active one stopped being ready after %s, the standby became ready after %s (-1: not within 30 s)", leftAfter, tookOverAfter)
	}
	t.Logf("Redis black-holed for the active publisher: it left after %s, the standby took over after %s (gap %s)",
		leftAfter.Round(10*time.Millisecond), tookOverAfter.Round(10*time.Millisecond), (tookOverAfter - leftAfter).Round(10*time.Millisecond))
	time.Sleep(2*ttl - time.Since(frozenAt))
	activeGate.Thaw()

	// The broker's log is read last, but also when a check below fails.
	defer func() {
		log, err := p.Broker.Log()
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{clientID, clientID + "-presence"} {
			connects, err := sessionsOneAtATime(log, id)
			if err != nil || connects != 2 {
				t.Errorf("client id %s: %d connections (want 2: the active one, then the standby), %v:\n%s", id, connects, err, grep(log, id))
			}
		}
	}()
	// The old active publisher hears from Redis again for a while: it
	// must stay a standby, neither exit nor come back.
	time.Sleep(ttl)
	if !active.Running() {
		t.Error("the publisher that lost the lease exited instead of standing by")
	} else if ready(active) {
		t.Error("the publisher that lost the lease is ready (active) again")
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTo, 60*time.Second)
	nothingPending(t, p)
}

// readyChanges reports, once, how long after the call s's /readyz first
// says want (-1 if not within 30 s).
func readyChanges(s *harness.Service, want bool) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		for time.Since(start) < 30*time.Second {
			if ready(s) == want {
				out <- time.Since(start)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		out <- -1
	}()
	return out
}

func ready(s *harness.Service) bool {
	resp, err := http.Get("http://" + s.HTTPAddr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// sessionsOneAtATime reads mosquitto's log and counts the connections of
// client id; it fails if one came while another was still connected (which
// mosquitto 2 logs as "Client <id> already connected, closing old
// connection." when it kicks the old one off).
func sessionsOneAtATime(log, id string) (connects int, err error) {
	connected := false
	for _, line := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(line, " as "+id+" ("):
			if connected {
				return connects, fmt.Errorf("connected again while connected: %q", line)
			}
			connected = true
			connects++
		case strings.Contains(line, "Client "+id+" already connected"):
			return connects, fmt.Errorf("the broker saw two at once: %q", line)
		case strings.Contains(line, "Client "+id+" disconnected"),
			strings.Contains(line, "Client "+id+" closed its connection"),
			strings.Contains(line, "Client "+id+" has exceeded timeout"):
			connected = false
		}
	}
	return connects, nil
}
