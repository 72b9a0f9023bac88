package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// Two publishers with the same client id: one holds the session, the other
// stands by; when the active one is killed, the standby takes over, no
// event is lost and the broker never sees the two fight.
func TestStandbyPublisherTakesOverWithoutFlapping(t *testing.T) {
	t.Parallel()
	const tools, perTool = 20, 200
	p, active, standby := startPublisherPair(t, "bridge-under-test", "-lease-ttl", "3s")
	env, bin, redis := p.Env, p.Bin, p.Redis
	router, err := env.StartService(bin, "router", "-publisher-addr", active.GRPCAddr+","+standby.GRPCAddr, "-redis-url", redis.URL(1))
	if err != nil {
		t.Fatal(err)
	}
	ingest, err := env.StartService(bin, "ingest", "-redis-url", redis.URL(1), "-router-addr", router.GRPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	p.Router, p.Ingest, p.Publisher = router, ingest, active
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	written := writeInBackground(t, p, harness.Events(tools*perTool, tools, 0))
	waitForCount(t, sub, 1000)
	if a, s := metric(t, active, "nemo_publisher_active"), metric(t, standby, "nemo_publisher_active"); a != 1 || s != 0 {
		t.Fatalf("nemo_publisher_active: %v on the active publisher, %v on the standby; want 1 and 0", a, s)
	}
	active.Kill9()
	killedAt := time.Now()
	if err := standby.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("standby publisher connected %s after the active one was killed", time.Since(killedAt).Round(10*time.Millisecond))
	if n := metric(t, standby, "nemo_publisher_active"); n != 1 {
		t.Fatalf("the standby took over, but its nemo_publisher_active is %v", n)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 60*time.Second)
	nothingPending(t, p)

	log, err := p.Broker.Log()
	if err != nil {
		t.Fatal(err)
	}
	connects := strings.Count(log, "as bridge-under-test")
	if strings.Contains(log, "already connected") || connects != 2 {
		t.Fatalf("broker saw %d connections of the client id (want 2: the active one, then the standby):\n%s", connects, grep(log, "bridge-under-test"))
	}
}

func grep(text, word string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, word) {
			out = append(out, line)
		}
	}
	return fmt.Sprint(strings.Join(out, "\n"))
}

// startPublisherPair starts Redis, mosquitto and two publishers with one
// client id sharing a lease in Redis, which holds the NEMO plugin's
// bridge status as well: the first is active (and ready), the second
// stands by. The returned pipeline has no router or ingest yet.
func startPublisherPair(t *testing.T, clientID string, extra ...string) (p *harness.Pipeline, active, standby *harness.Service) {
	t.Helper()
	p = startRedisAndBroker(t, harness.MosquittoOptions{})
	env, bin := p.Env, p.Bin
	var err error
	args := append([]string{"-mqtt-url", p.Broker.TLSURL(), "-mqtt-ca-file", p.PKI.CAFile,
		"-mqtt-client-id", clientID, "-lease-redis-url", p.Redis.URL(1), "-redis-url", p.Redis.URL(1)}, extra...)
	if active, err = env.StartServiceAs("publisher-a", bin, "publisher", args...); err != nil {
		t.Fatal(err)
	}
	if err := active.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if standby, err = env.StartServiceAs("publisher-b", bin, "publisher", args...); err != nil {
		t.Fatal(err)
	}
	return p, active, standby
}
