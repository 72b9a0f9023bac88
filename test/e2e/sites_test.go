package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// One bridge serving three NEMO sites: the default one (its stream in the
// bridge's own Redis), north (a stream in its own Redis) and south (the
// plugin's list in another Redis, with a topic prefix of its own). All
// three have a tool 12, and each site's events use tool ids 0 to 9.
//
// Every site's events arrive, in order per tool, under the site's prefix
// only; each site's tool 12 has its own state in Redis, over REST and on
// its retained status topic; the recent messages say their site; each
// site's NEMO page can read that the bridge is connected; and nothing
// stays pending in any site's input.
func TestOneBridgeKeepsSeveralSitesApart(t *testing.T) {
	t.Parallel()
	const tools = 10
	perTool := map[string]int{"": 60, "north": 80, "south": 100}

	// The bridge's own Redis, which the publisher keeps the NEMO plugin's
	// bridge status in.
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	bridge, err := env.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.StartPipeline(bin, harness.PipelineOptions{
		RedisURL:  bridge.URL(1),
		Publisher: []string{"-redis-url", bridge.URL(1)},
		Router:    []string{"-displays"}, // in UTC, but south's in Tokyo's time
	})
	if err != nil {
		t.Fatal(err)
	}
	north, err := p.Env.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	south, err := p.Env.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name  string
		flags []string
	}{
		{"ingest-north", []string{"-redis-url", north.URL(1), "-site", "north"}},
		{"ingest-south", []string{"-redis-url", south.URL(1), "-site", "south", "-site-topic-prefix", "labs/south/", "-site-display-timezone", "Asia/Tokyo", "-ingest-mode", "list"}},
	} {
		svc, err := p.Env.StartServiceAs(s.name, p.Bin, "ingest",
			append([]string{"-router-addr", p.Router.GRPCAddr, "-lease-redis-url", p.RedisURL()}, s.flags...)...)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.WaitReady(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	gw, err := p.StartGateway()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + gw.HTTPAddr

	subs := map[string]*harness.Subscriber{
		"":      subscribe(t, p, "nemo/tools/+/enabled"),
		"north": subscribe(t, p, "north/nemo/tools/+/enabled"),
		"south": subscribe(t, p, "labs/south/nemo/tools/+/enabled"),
	}
	bridgeRedis, northRedis, southRedis := bridge.Client(1), north.Client(1), south.Client(1)
	write := map[string]func([]string) error{
		"":      func(envs []string) error { return harness.XAdd(ctx(t), bridgeRedis, "nemo:events", envs) },
		"north": func(envs []string) error { return harness.XAdd(ctx(t), northRedis, "nemo:events", envs) },
		"south": func(envs []string) error { return harness.LPush(ctx(t), southRedis, "nemo_mqtt_events", envs) },
	}
	for site, n := range perTool {
		if err := write[site](harness.Envelopes(harness.Events(tools*n, tools, 0))); err != nil {
			t.Fatal(err)
		}
	}
	for site, n := range perTool {
		waitInOrder(t, subs[site], tools, n, 30*time.Second)
	}

	// Tool 12 of each site: in use by Ann at the default site, used and
	// given back by Bo at north, shut down by a problem at south.
	tool12 := func(event, extra string) string {
		return fmt.Sprintf(`{"topic":"nemo/tools/12/%s","payload":{"event":%q,"tool_id":12,"tool_name":"Tool twelve"%s},"qos":1}`, event, event, extra)
	}
	if err := write[""]([]string{tool12("tool_enabled", `,"user_name":"Ann"`)}); err != nil {
		t.Fatal(err)
	}
	if err := write["north"]([]string{tool12("tool_enabled", `,"user_name":"Bo"`), tool12("tool_disabled", `,"user_name":"Bo"`)}); err != nil {
		t.Fatal(err)
	}
	if err := write["south"]([]string{`{"topic":"nemo/tools/12/tasks","payload":{"event":"task_shutdown","task_id":5,"tool_id":12,"problem_description":"Chamber leaks","force_shutdown":true},"qos":1}`}); err != nil {
		t.Fatal(err)
	}
	// Tool 13 starts being used at the same moment at north and south:
	// each site's screen shows it in the site's time.
	started := tool13Started()
	for _, site := range []string{"north", "south"} {
		if err := write[site]([]string{started}); err != nil {
			t.Fatal(err)
		}
	}
	type tool struct {
		InUse    bool   `json:"in_use"`
		User     string `json:"user"`
		LastUser string `json:"last_user"`
		Shutdown bool   `json:"shutdown"`
		Site     string `json:"site"`
	}
	states := map[string]tool{
		base + "/v1/tools/12":             {InUse: true, User: "Ann", LastUser: "Ann"},
		base + "/v1/sites/north/tools/12": {LastUser: "Bo", Site: "north"},
		base + "/v1/tools/12?site=north":  {LastUser: "Bo", Site: "north"},
		base + "/v1/sites/south/tools/12": {Shutdown: true, Site: "south"},
	}
	eventually(t, 20*time.Second, func() error {
		for url, want := range states {
			var got tool
			if code := getJSON(t, url, &got); code != http.StatusOK || got != want {
				return fmt.Errorf("GET %s: %d %+v; want %+v", url, code, got, want)
			}
		}
		return nil
	})
	var raw map[string]any
	getJSON(t, base+"/v1/tools/12", &raw)
	if _, ok := raw["site"]; ok {
		t.Errorf("the default site's tool says a site: %v", raw)
	}
	if code := getJSON(t, base+"/v1/sites/west/tools/12", &raw); code != http.StatusNotFound {
		t.Errorf("a site the bridge never heard of: %d, want 404", code)
	}
	if code := getJSON(t, base+"/v1/sites/North/tools/12", &raw); code != http.StatusBadRequest {
		t.Errorf("a site name that cannot be: %d, want 400", code)
	}

	var sites struct {
		Sites []struct {
			Name        string `json:"name"`
			TopicPrefix string `json:"topic_prefix"`
		} `json:"sites"`
	}
	getJSON(t, base+"/v1/sites", &sites)
	if got := fmt.Sprint(sites.Sites); got != "[{north north/} {south labs/south/}]" {
		t.Errorf("GET /v1/sites: %s", got)
	}
	var list struct {
		Tools []struct {
			ID   int    `json:"id"`
			Site string `json:"site"`
		} `json:"tools"`
	}
	getJSON(t, base+"/v1/sites/south/tools?page_size=1000", &list)
	// Tools 1 to 9, 12 and 13: NEMO's ids are positive, so the events of
	// tool 0 count in the order checks above but no list shows it.
	if len(list.Tools) != tools+1 || list.Tools[0].Site != "south" || list.Tools[tools].ID != 13 {
		t.Errorf("south's tools: %+v; want its %d tools", list.Tools, tools+1)
	}

	// Redis holds one state per site's tool 12, each in its site's hash.
	for hash, want := range map[string]string{
		"nemo:bridge:tools":            `"user":"Ann"`,
		"nemo:bridge:tools:site:north": `"last_user":"Bo"`,
		"nemo:bridge:tools:site:south": `"shutdown":true`,
	} {
		if doc := bridgeRedis.HGet(ctx(t), hash, "12").Val(); !strings.Contains(doc, want) {
			t.Errorf("%s[12] = %s; want %s", hash, doc, want)
		}
	}
	// Each site's retained status of tool 12 is its own, and each site's
	// screen of tool 13 shows the time in the site's zone.
	for topic, want := range map[string]string{
		"nemo/tools/12/status":            `"user":"Ann"`,
		"north/nemo/tools/12/status":      `"last_user":"Bo"`,
		"labs/south/nemo/tools/12/status": `"shutdown":true`,
		"north/nemo/esp32/13/status":      `"timestamp":"Nov 04, 05:03 PM"`,
		"labs/south/nemo/esp32/13/status": `"timestamp":"Nov 05, 02:03 AM"`,
	} {
		s := subscribe(t, p, topic)
		if err := s.WaitFor(10*time.Second, func(msgs []harness.Message) (bool, string) {
			for _, m := range msgs {
				if strings.Contains(string(m.Payload), want) {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d retained messages, none with %s", len(msgs), want)
		}); err != nil {
			t.Errorf("%s: %v", topic, err)
		}
	}

	// The recent messages say their site, and filter by it.
	var recent struct {
		Messages []struct {
			Topic string `json:"topic"`
			Site  string `json:"site"`
		} `json:"messages"`
	}
	eventually(t, 10*time.Second, func() error {
		getJSON(t, base+"/v1/messages?site=north&tool_id=12&limit=1000", &recent)
		if len(recent.Messages) == 0 {
			return fmt.Errorf("no recent message of north's tool 12")
		}
		return nil
	})
	for _, m := range recent.Messages {
		if m.Site != "north" || !strings.HasPrefix(m.Topic, "north/") {
			t.Errorf("north's recent messages hold %+v", m)
		}
	}

	// Each site's NEMO page reads the bridge's status from the site's
	// Redis: the site's ingest copies it there.
	eventually(t, 20*time.Second, func() error {
		for name, rdb := range map[string]*redis.Client{"north": northRedis, "south": southRedis} {
			if got := rdb.Get(ctx(t), "nemo_mqtt_bridge_status").Val(); got != "connected" {
				return fmt.Errorf("%s's Redis says the bridge is %q; want connected", name, got)
			}
		}
		return nil
	})

	// A site's NEMO plugin asks for a reload in the site's Redis: the
	// request reaches the routers, which empty the bridge's list.
	if err := northRedis.LPush(ctx(t), "nemo_mqtt_bridge_control", "reload_config").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		if n := northRedis.LLen(ctx(t), "nemo_mqtt_bridge_control").Val() + bridgeRedis.LLen(ctx(t), "nemo_mqtt_bridge_control").Val(); n != 0 {
			return fmt.Errorf("%d reload requests wait in north's and the bridge's control lists", n)
		}
		if !strings.Contains(serviceLog(t, p.Env, "router"), "the NEMO plugin asked for a reload") {
			return fmt.Errorf("the router has not heard of a reload")
		}
		return nil
	})

	// Nothing stays pending or in processing at any site.
	eventually(t, 15*time.Second, func() error {
		for name, rdb := range map[string]*redis.Client{"default": bridgeRedis, "north": northRedis} {
			pending, err := rdb.XPending(ctx(t), "nemo:events", "nemo-bridge").Result()
			if err != nil {
				return err
			}
			if pending.Count != 0 {
				return fmt.Errorf("%s: %d entries still pending", name, pending.Count)
			}
		}
		if n := southRedis.LLen(ctx(t), "{nemo_mqtt_events}:processing").Val(); n != 0 {
			return fmt.Errorf("south: %d entries still in processing", n)
		}
		return nil
	})
}

// tool13Started is tool 13 starting being used at 17:03 UTC on 4 November.
func tool13Started() string {
	return `{"topic":"nemo/tools/13/start","payload":{"event":"tool_usage_start","tool_id":13,"tool_name":"Furnace","user_name":"Ada","start_time":"2026-11-04T17:03:00Z"},"qos":1}`
}
