package devstack

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
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
	children, err := services(o, "redis://127.0.0.1:6390/1", "mqtt://127.0.0.1:1884")
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
