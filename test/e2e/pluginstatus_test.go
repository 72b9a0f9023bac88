package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// pluginStatus is the string the NEMO plugin's page reads to show whether
// its bridge is connected to the broker.
const pluginStatus = "nemo_mqtt_bridge_status"

// statusIs checks the plugin's bridge status: want, with a TTL of at most
// the plugin's 90 s, so that it expires when nobody refreshes it.
func statusIs(t *testing.T, rdb *redis.Client, want string) error {
	got, err := rdb.Get(ctx(t), pluginStatus).Result()
	if err != nil || got != want {
		return fmt.Errorf("%s is %q (%v), want %q", pluginStatus, got, err, want)
	}
	if ttl, err := rdb.TTL(ctx(t), pluginStatus).Result(); err != nil || ttl <= 0 || ttl > 90*time.Second {
		return fmt.Errorf("%s has TTL %v (%v), want up to 90s", pluginStatus, ttl, err)
	}
	return nil
}

// The publisher keeps the NEMO plugin's bridge status as the plugin's own
// bridge did: connected while its MQTT session is up, disconnected while
// the broker is away and after a clean stop, and after a crash the last
// status only waits to expire.
func TestPublisherKeepsThePluginsBridgeStatus(t *testing.T) {
	t.Parallel()
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	redisServer, err := env.StartRedis()
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
	publisher, err := env.StartService(bin, "publisher", "-mqtt-url", broker.TLSURL(), "-mqtt-ca-file", pki.CAFile,
		"-redis-url", redisServer.URL(1))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redisServer.Client(1)
	defer rdb.Close()
	status := func(want string) {
		t.Helper()
		eventually(t, 15*time.Second, func() error { return statusIs(t, rdb, want) })
	}

	status("connected")
	if err := broker.Stop(); err != nil {
		t.Fatal(err)
	}
	status("disconnected")
	if err := broker.Restart(); err != nil {
		t.Fatal(err)
	}
	status("connected")
	if err := publisher.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := statusIs(t, rdb, "disconnected"); err != nil {
		t.Fatalf("after a clean stop: %v", err)
	}
	if err := publisher.Start(); err != nil {
		t.Fatal(err)
	}
	status("connected")
	publisher.Kill9()
	if err := statusIs(t, rdb, "connected"); err != nil {
		t.Fatalf("after kill -9: %v", err)
	}
}

// Of two publishers sharing a lease, only the active one keeps the
// status: a standby starting or stopping says nothing, and at a handover
// the new active one's "connected" comes after the old one's
// "disconnected".
func TestStandbyPublisherLeavesThePluginsBridgeStatusAlone(t *testing.T) {
	t.Parallel()
	p, active, standby := startPublisherPair(t, "bridge-status-under-test", "-lease-ttl", "3s")
	rdb := p.Redis.Client(1)
	defer rdb.Close()
	eventually(t, 15*time.Second, func() error { return statusIs(t, rdb, "connected") })
	standingBy := func(times int) {
		t.Helper()
		eventually(t, 15*time.Second, func() error {
			log, err := os.ReadFile(filepath.Join(p.Env.Dir, "publisher-b.log"))
			if n := strings.Count(string(log), "standing by"); err != nil || n != times {
				return fmt.Errorf("the standby said it stands by %d times (%v), want %d", n, err, times)
			}
			return nil
		})
	}
	standingBy(1)
	if err := standby.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := statusIs(t, rdb, "connected"); err != nil {
		t.Fatalf("after the standby stopped: %v", err)
	}
	if err := standby.Start(); err != nil {
		t.Fatal(err)
	}
	standingBy(2)
	if err := statusIs(t, rdb, "connected"); err != nil {
		t.Fatalf("after the standby started again: %v", err)
	}

	if err := active.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := standby.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() error { return statusIs(t, rdb, "connected") })
	time.Sleep(time.Second) // a late "disconnected" from the old one would land by now
	if err := statusIs(t, rdb, "connected"); err != nil {
		t.Fatalf("after the handover: %v", err)
	}
}
