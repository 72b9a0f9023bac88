package devstack

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
)

// `LIST_KEY=NEMO_mqtt_events INGEST_MODE=list make run`: ingest and the
// gateway read that list, and the demo pushes to it, as an older NEMO
// plugin does.
func TestListKeyReachesIngestTheGatewayAndTheDemo(t *testing.T) {
	t.Setenv("LIST_KEY", "NEMO_mqtt_events")
	t.Setenv("INGEST_MODE", "list")
	var o Options
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	o.Bind(fs)
	if err := envflag.Parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	o.BinDir = t.TempDir()
	for _, name := range order {
		if err := os.WriteFile(filepath.Join(o.BinDir, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	children, err := services(o, "redis://127.0.0.1:6390/1", "mqtt://127.0.0.1:1884", "token")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range children {
		reads := slices.Contains(c.args, "-list") && c.args[slices.Index(c.args, "-list")+1] == "NEMO_mqtt_events"
		if (c.name == "ingest" || c.name == "gateway") != reads {
			t.Errorf("%s %q: reads the list NEMO_mqtt_events: %v", c.name, c.args, reads)
		}
	}

	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	if err := o.write(context.Background(), rdb, `{"topic":"nemo/tools/1/enabled","payload":"{}"}`); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.LLen(context.Background(), "NEMO_mqtt_events").Result(); n != 1 {
		t.Fatalf("the demo pushed %d entries to NEMO_mqtt_events, want 1", n)
	}
}

// Passwords and the admin token reach the services in their environment,
// never as flags (ps shows those to every user); the banner masks the
// passwords and shows the token made for the run, once.
func TestSecretsStayOutOfPsAndTheBanner(t *testing.T) {
	o := Options{BinDir: t.TempDir(), GRPCPortBase: 7001, HTTPPortBase: 9101, HTTPAddr: ":8080", IngestMode: "stream",
		RedisURL: "redis://:redis-pw@nemo:6379/1", MQTTURL: "mqtts://bridge:mqtt-pw@broker:8883"}
	for _, name := range order {
		if err := os.WriteFile(filepath.Join(o.BinDir, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	children, err := services(o, o.RedisURL, o.MQTTURL, "the-token")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range children {
		if args := strings.Join(c.args, " "); strings.Contains(args, "-pw") || strings.Contains(args, "the-token") {
			t.Errorf("%s is started with a secret in its flags: %s", c.name, args)
		}
		env := environ([]string{"REDIS_URL=redis://:old@host/1", "ADMIN_TOKEN_FILE=/given", "HOME=/root"}, c.secrets)
		want := []string{"HOME=/root", "REDIS_URL=redis://:redis-pw@nemo:6379/1"}
		switch c.name {
		case "publisher":
			want = append(want, "MQTT_URL=mqtts://bridge:mqtt-pw@broker:8883", "ADMIN_TOKEN_FILE=/given")
		case "gateway":
			// devstack's token replaces one the gateway would inherit.
			want = append(want, "ADMIN_TOKEN=the-token")
		default:
			want = append(want, "ADMIN_TOKEN_FILE=/given")
		}
		slices.Sort(env)
		slices.Sort(want)
		if !slices.Equal(env, want) {
			t.Errorf("%s's environment %q, want %q", c.name, env, want)
		}
	}

	var banner strings.Builder
	o.AdminToken = "the-token" // given, so not shown
	o.banner(&banner, o.RedisURL, o.MQTTURL, "the-token")
	if strings.Contains(banner.String(), "-pw") || strings.Contains(banner.String(), "the-token") {
		t.Errorf("the banner shows a password or the token given:\n%s", banner.String())
	}
	for _, want := range []string{"redis://:xxxxx@nemo:6379/1", "mqtts://bridge:xxxxx@broker:8883", "the one given"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("the banner does not say %q:\n%s", want, banner.String())
		}
	}
	// A list of brokers shows each, its password masked.
	banner.Reset()
	o.banner(&banner, o.RedisURL, "mqtts://bridge:pw,1@a.lab:8883, mqtt://b.lab:1883", "the-token")
	if want := "MQTT broker:  mqtts://bridge:xxxxx@a.lab:8883, mqtt://b.lab:1883\n"; !strings.Contains(banner.String(), want) || strings.Contains(banner.String(), "pw,1") {
		t.Errorf("the banner does not say %q, or shows the password:\n%s", want, banner.String())
	}
	banner.Reset()
	o.AdminToken = ""
	o.banner(&banner, o.RedisURL, o.MQTTURL, "the-token")
	if !strings.Contains(banner.String(), "the-token") {
		t.Errorf("the banner does not show the token made for the run:\n%s", banner.String())
	}
}
