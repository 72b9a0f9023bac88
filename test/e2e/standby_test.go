package e2e

import (
	"fmt"
	"os"
	"path/filepath"
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
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	redis, err := env.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	pki, err := env.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	broker, err := env.StartMosquitto(pki, harness.MosquittoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pubArgs := []string{"-mqtt-url", broker.TLSURL(), "-mqtt-ca-file", pki.CAFile, "-mqtt-client-id", "bridge-under-test", "-lease-redis-url", redis.URL(1), "-lease-ttl", "3s"}
	active, err := env.StartServiceAs("publisher-a", bin, "publisher", pubArgs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := active.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	standby, err := env.StartServiceAs("publisher-b", bin, "publisher", pubArgs...)
	if err != nil {
		t.Fatal(err)
	}
	router, err := env.StartService(bin, "router", "-publisher-addr", active.GRPCAddr+","+standby.GRPCAddr, "-redis-url", redis.URL(1))
	if err != nil {
		t.Fatal(err)
	}
	ingest, err := env.StartService(bin, "ingest", "-redis-url", redis.URL(1), "-router-addr", router.GRPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	p := &harness.Pipeline{Env: env, Bin: bin, Redis: redis, PKI: pki, Broker: broker, Router: router, Ingest: ingest, Publisher: active}
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	written := writeInBackground(t, p, harness.Events(tools*perTool, tools, 0))
	waitForCount(t, sub, 1000)
	active.Kill9()
	killedAt := time.Now()
	if err := standby.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("standby publisher connected %s after the active one was killed", time.Since(killedAt).Round(10*time.Millisecond))
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 60*time.Second)
	nothingPending(t, p)

	log, err := os.ReadFile(filepath.Join(env.Dir, "mosquitto.log"))
	if err != nil {
		t.Fatal(err)
	}
	connects := strings.Count(string(log), "as bridge-under-test")
	if strings.Contains(string(log), "already connected") || connects != 2 {
		t.Fatalf("broker saw %d connections of the client id (want 2: the active one, then the standby):\n%s", connects, grep(string(log), "bridge-under-test"))
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
