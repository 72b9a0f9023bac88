package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// The whole bridge against a Redis and a broker that both want a
// password, every secret given in a file: the password in the MQTT URL is
// the one the publisher logs in with (mosquitto lets nobody in without
// it, and the publisher is ready only once connected), events flow, and
// then, after the broker went away and came back (so that connection
// failures were logged), no password and no token is in any service's
// command line, log, health or error.
func TestSecretsLogInFromFilesAndNeverShow(t *testing.T) {
	t.Parallel()
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	const (
		redisPassword = "redis-Pw-7q3z"
		mqttPassword  = "mqtt-Pw-9k2x"
		adminToken    = "admin-Tok-4m8v"
	)
	secrets := []string{redisPassword, mqttPassword, adminToken}

	r, err := env.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Client(1).ConfigSet(ctx(t), "requirepass", redisPassword).Err(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, DB: 1, Password: redisPassword})
	defer rdb.Close()
	pki, err := env.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	broker, err := env.StartMosquitto(pki, harness.MosquittoOptions{Users: map[string]string{"bridge": mqttPassword, "display": "d1splay"}})
	if err != nil {
		t.Fatal(err)
	}
	redisURL := secretFile(t, env, "redis-url", "redis://:"+redisPassword+"@"+r.Addr+"/1")
	mqttURL := secretFile(t, env, "mqtt-url", "mqtts://bridge:"+mqttPassword+"@"+broker.TLSAddr)
	token := secretFile(t, env, "admin-token", adminToken)

	p := &harness.Pipeline{Env: env, Bin: bin, Redis: r, PKI: pki, Broker: broker}
	if p.Publisher, err = env.StartService(bin, "publisher", "-mqtt-url-file", mqttURL, "-mqtt-ca-file", pki.CAFile,
		"-mqtt-client-id", "bridge-"+strconv.FormatInt(time.Now().UnixNano(), 10), "-redis-url-file", redisURL); err != nil {
		t.Fatal(err)
	}
	if p.Router, err = env.StartService(bin, "router", "-publisher-addr", p.Publisher.GRPCAddr, "-redis-url-file", redisURL); err != nil {
		t.Fatal(err)
	}
	if p.Ingest, err = env.StartService(bin, "ingest", "-redis-url-file", redisURL, "-router-addr", p.Router.GRPCAddr); err != nil {
		t.Fatal(err)
	}
	gw, err := env.StartService(bin, "gateway", "-redis-url-file", redisURL, "-admin-token-file", token,
		"-ingest-addr", p.Ingest.GRPCAddr, "-router-addr", p.Router.GRPCAddr, "-publisher-addr", p.Publisher.GRPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	services := []*harness.Service{p.Publisher, p.Router, p.Ingest, gw}
	for _, s := range services {
		if err := s.WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}

	sub, err := p.SubscribeAs("display", "d1splay", "nemo/tools/+/enabled", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.XAdd(ctx(t), rdb, "nemo:events", harness.Envelopes(harness.Events(6, 2, 0))); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, 2, 3, 30*time.Second)

	// Connection failures, logged with their errors, then back.
	base := "http://" + gw.HTTPAddr
	if err := broker.Stop(); err != nil {
		t.Logf("mosquitto stop: %v", err)
	}
	var health restHealth
	eventually(t, 20*time.Second, func() error {
		getJSON(t, base+"/v1/health", &health)
		if health.Healthy {
			return fmt.Errorf("healthy with the broker stopped")
		}
		return nil
	})
	time.Sleep(2 * time.Second) // a few reconnection attempts
	if err := broker.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		getJSON(t, base+"/v1/health", &health)
		if !health.Healthy {
			return fmt.Errorf("health once the broker is back: %+v", health)
		}
		return nil
	})
	var rerr restError
	if code := doJSON(t, http.MethodPost, base+"/v1/test-message", "wrong", struct{}{}, &rerr); code != http.StatusUnauthorized {
		t.Fatalf("a test message with a wrong token: %d %+v", code, rerr)
	}
	if code := doJSON(t, http.MethodPost, base+"/v1/test-message", adminToken, struct{}{}, nil); code != http.StatusOK {
		t.Fatalf("a test message with the token from the file: %d", code)
	}

	// What anyone may read: health (its broker hop names the URL, masked),
	// the errors above, every command line, every log.
	resp, err := http.Get(base + "/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	healthDoc, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]string{"GET /v1/health": string(healthDoc), "the refusal": rerr.Message}
	for _, s := range services {
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.PID()), "cmdline"))
		if err != nil {
			t.Fatal(err)
		}
		shown[s.Name+"'s command line"] = string(cmdline)
		shown[s.Name+"'s log"] = readLog(t, env, s.Name)
	}
	for where, text := range shown {
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows the secret %q", where, secret)
			}
		}
	}
	if !strings.Contains(shown["GET /v1/health"], "connected to mqtts://bridge:xxxxx@") {
		t.Errorf("health does not name the broker with its password masked: %s", shown["GET /v1/health"])
	}
	if !strings.Contains(shown["publisher's log"], "cannot connect to MQTT broker") {
		t.Errorf("the publisher logged no connection failure while the broker was away; the check above saw none of its errors")
	}
}
