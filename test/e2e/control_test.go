package e2e

import (
	"fmt"
	"maps"
	"path/filepath"
	"testing"
	"time"

	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// The NEMO plugin asks its bridge to reload by LPUSHing reload_config onto
// the list nemo_mqtt_bridge_control. With two routers on one Redis, one
// such entry reloads both of them (only one can pop it), anything else
// pushed there is dropped, the list is left empty, and it stays consumed
// after a Redis restart.
func TestPluginControlListReloadsEveryRouter(t *testing.T) {
	t.Parallel()
	const list = "nemo_mqtt_bridge_control"
	const refused = `nemo_router_rules_reloads_total{result="refused"}`
	path := filepath.Join(t.TempDir(), "rules.yaml")
	replaceFile(t, path, rulesPlugin)
	p := startPipeline(t, harness.PipelineOptions{Router: []string{"-rules", path}})
	second, err := p.Env.StartServiceAs("router-b", p.Bin, "router",
		"-publisher-addr", p.Publisher.GRPCAddr, "-redis-url", p.Redis.URL(1), "-rules", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := second.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	routers := []*harness.Service{p.Router, second}
	clients := []routerv1.RouterServiceClient{rulesClient(t, p.Router), rulesClient(t, second)}
	rdb := p.Redis.Client(1)
	defer rdb.Close()
	listEmpty := func() error {
		if n, err := rdb.LLen(ctx(t), list).Result(); err != nil || n != 0 {
			return fmt.Errorf("%d entries left in %s (%v)", n, list, err)
		}
		return nil
	}

	// A new rules file and the plugin's request: both routers take it.
	before := rulesInForce(t, clients[0]).GetVersion()
	replaceFile(t, path, rulesWithCopies)
	if err := rdb.LPush(ctx(t), list, "reload_config").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() error {
		for i, c := range clients {
			if v := rulesInForce(t, c).GetVersion(); v == before {
				return fmt.Errorf("router %d still has rules %s", i, v)
			}
		}
		return listEmpty()
	})

	// The file watch takes a new file as well, so that proves the list is
	// read, not that the routers reloaded on it. A file with mistakes
	// tells: the watch refuses it once, and a router refuses it again at
	// every reload asked for. Requests pushed together ask for one reload
	// of each router, the one that popped them included, and an entry
	// that is not reload_config is dropped.
	replaceFile(t, path, rulesBroken)
	refusals := func(want float64) error {
		for _, r := range routers {
			if n, err := r.Metric(refused); err != nil || n != want {
				return fmt.Errorf("%s refused the rules file %v times (%v), want %v", r.Name, n, err, want)
			}
		}
		return nil
	}
	eventually(t, 15*time.Second, func() error { return refusals(1) })
	if err := rdb.LPush(ctx(t), list, "reload_config", "reload_config", "not for the bridge").Err(); err != nil {
		t.Fatal(err)
	}
	// Both routers wait on the list, so Redis may hand one entry to each:
	// then both pass a request on and each router reloads twice. Either
	// way every router reloads on the request, and no more than once per
	// router that popped.
	counts := func() (map[string]float64, error) {
		out := map[string]float64{}
		for _, r := range routers {
			n, err := r.Metric(refused)
			if err != nil {
				return nil, err
			}
			if n < 2 || n > 3 {
				return nil, fmt.Errorf("%s refused the rules file %v times, want 2 (or 3 when both routers popped a request)", r.Name, n)
			}
			out[r.Name] = n
		}
		return out, nil
	}
	eventually(t, 15*time.Second, func() error {
		if err := listEmpty(); err != nil {
			return err
		}
		_, err := counts()
		return err
	})
	// A second request passed on comes within milliseconds of the first.
	time.Sleep(time.Second)
	settled, err := counts()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if now, err := counts(); err != nil || !maps.Equal(now, settled) {
		t.Fatalf("refusals went on after the requests were answered: %v, then %v (%v)", settled, now, err)
	}

	// Redis restarts (empty, as it keeps nothing on disk); the routers
	// read the list again once it is back.
	if err := p.Redis.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Redis.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.LPush(ctx(t), list, "reload_config").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, listEmpty)
}
