package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// `make run` with nothing installed: devstack's embedded Redis and broker,
// the services, and the demo lab; its events reach the embedded broker,
// every tool's state is there, retained, and the NEMO plugin's bridge
// status is in the embedded Redis.
func TestMakeRunStackDeliversTheDemo(t *testing.T) {
	t.Parallel()
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	devstack := filepath.Join(env.Dir, "devstack")
	if out, err := exec.Command("go", "build", "-C", root, "-o", devstack, "./services/devstack").CombinedOutput(); err != nil {
		t.Fatalf("build devstack: %v\n%s", err, out)
	}
	var ports []int
	for range 3 {
		p, err := harness.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	// The services take consecutive ports from each base (four gRPC, three
	// metrics), all of them handed out, so that no other test takes one.
	grpcBase, err := harness.FreePorts(4)
	if err != nil {
		t.Fatal(err)
	}
	httpBase, err := harness.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	mqttAddr := "127.0.0.1:" + strconv.Itoa(ports[0])
	gatewayAddr := "127.0.0.1:" + strconv.Itoa(ports[2])
	if _, err := env.StartProcess("devstack", devstack, "-bin-dir", bin,
		"-embedded-redis-addr", "127.0.0.1:"+strconv.Itoa(ports[1]), "-embedded-mqtt-addr", mqttAddr,
		"-grpc-port-base", strconv.Itoa(grpcBase), "-http-port-base", strconv.Itoa(httpBase),
		"-http-addr", gatewayAddr, "-demo-interval", "50ms"); err != nil {
		t.Fatal(err)
	}
	if err := harness.WaitTCP(mqttAddr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1000)
	u, _ := url.Parse("mqtt://" + mqttAddr)
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cm, err := autopaho.NewConnection(cctx, autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 30, CleanStartOnInitialConnection: true,
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			go cm.Subscribe(cctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "nemo/#", QoS: 1}}})
		},
		ClientConfig: paho.ClientConfig{ClientID: "make-run-test", OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(r paho.PublishReceived) (bool, error) {
				select {
				case got <- r.Packet.Topic:
				default:
				}
				return true, nil
			}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Disconnect(context.Background())
	seen := map[string]bool{}
	deadline := time.After(60 * time.Second)
	for !(seen["status"] && seen["enabled"] && seen["bridge"]) {
		select {
		case topic := <-got:
			switch {
			case strings.HasSuffix(topic, "/status") && strings.HasPrefix(topic, "nemo/tools/"):
				seen["status"] = true
			case strings.HasSuffix(topic, "/enabled"):
				seen["enabled"] = true
			case topic == "nemo/bridge/status":
				seen["bridge"] = true
			}
		case <-deadline:
			t.Fatalf("after 60 s the embedded broker has had %v (want a tool event, a tool status and the bridge status)", seen)
		}
	}
	// The gateway is part of the stack: it knows the demo's tools and
	// finds every hop healthy.
	eventually(t, 30*time.Second, func() error {
		var health struct {
			Healthy bool
			Summary string
		}
		if code := getJSON(t, "http://"+gatewayAddr+"/v1/health", &health); code != 200 || !health.Healthy {
			return fmt.Errorf("GET /v1/health: %d, %+v", code, health)
		}
		var tools struct{ Tools []struct{ ID int32 } }
		if code := getJSON(t, "http://"+gatewayAddr+"/v1/tools", &tools); code != 200 || len(tools.Tools) == 0 {
			return fmt.Errorf("GET /v1/tools: %d, %d tools", code, len(tools.Tools))
		}
		return nil
	})
	// The banner shows the admin token made for the run, which write
	// actions need; no process shows it in its command line.
	banner := regexp.MustCompile(`Admin token, for [^\n]*:\n  (\S+)`).FindStringSubmatch(readLog(t, env, "devstack"))
	if banner == nil {
		t.Fatalf("the banner shows no admin token:\n%s", readLog(t, env, "devstack"))
	}
	token := banner[1]
	var rerr restError
	if code := doJSON(t, http.MethodPost, "http://"+gatewayAddr+"/v1/test-message", "", struct{}{}, &rerr); code != http.StatusUnauthorized {
		t.Fatalf("a test message without the token: %d %+v, want 401", code, rerr)
	}
	if code := doJSON(t, http.MethodPost, "http://"+gatewayAddr+"/v1/test-message", token, struct{}{}, &rerr); code != http.StatusOK {
		t.Fatalf("a test message with the banner's token: %d %+v", code, rerr)
	}
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, path := range cmdlines {
		if cmdline, err := os.ReadFile(path); err == nil && strings.Contains(string(cmdline), token) {
			t.Errorf("%s shows the admin token: %q", path, cmdline)
		}
	}
	// The NEMO plugin's page, reading the embedded Redis, finds the
	// bridge connected.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(ports[1]), DB: 1})
	defer rdb.Close()
	eventually(t, 30*time.Second, func() error { return statusIs(t, rdb, "connected") })
}
