package e2e

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// healthWarnings is GET /v1/health with its warnings.
type healthWarnings struct {
	Healthy  bool   `json:"healthy"`
	Summary  string `json:"summary"`
	Warnings []struct {
		Code    string `json:"code"`
		Summary string `json:"summary"`
		Detail  string `json:"detail"`
	} `json:"warnings"`
}

// A lab on an older plugin (NEMO_mqtt_events) starts the bridge with the
// default list: ingest reads nothing, so at start it says where the events
// are and which setting reads them, and the gateway's health says so while
// it lasts; that setting reads them. With nothing in either list, nothing
// is said.
func TestListEventsElsewhereAreNamedAtStart(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{Ingest: []string{"-ingest-mode", "list"}})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	rdb := p.Redis.Client(1)
	const warning = "NEMO may be writing there"
	if log := serviceLog(t, p.Env, "ingest"); strings.Contains(log, warning) {
		t.Fatalf("ingest warned with both lists empty:\n%s", log)
	}
	if err := p.Ingest.Stop(); err != nil {
		t.Fatalf("ingest did not stop cleanly: %v", err)
	}
	var entries []string
	for usage := range 3 {
		entry, _ := pluginEnabled(usage, 1764534000.123456+float64(usage))
		entries = append(entries, entry)
	}
	if err := harness.LPush(ctx(t), rdb, "NEMO_mqtt_events", entries); err != nil {
		t.Fatal(err)
	}
	if err := p.Ingest.Start(); err != nil {
		t.Fatal(err)
	}
	said := regexp.MustCompile(`level=WARN msg="The bridge reads NEMO's events from the Redis list nemo_mqtt_events, which is empty, but the list NEMO_mqtt_events holds 3 entries: ` +
		warning + `.* set LIST_KEY=NEMO_mqtt_events for ingest and the gateway .*" .*other_list=NEMO_mqtt_events entries=3 setting="LIST_KEY=NEMO_mqtt_events"`)
	eventually(t, 20*time.Second, func() error {
		if !said.MatchString(serviceLog(t, p.Env, "ingest")) {
			return fmt.Errorf("ingest has not said where the events are")
		}
		return nil
	})
	gw, err := p.StartGateway("-ingest-mode", "list")
	if err != nil {
		t.Fatal(err)
	}
	warned := func() (healthWarnings, bool) {
		var h healthWarnings
		getJSON(t, "http://"+gw.HTTPAddr+"/v1/health", &h)
		return h, len(h.Warnings) == 1 && h.Warnings[0].Code == "events_in_other_list" &&
			strings.Contains(h.Warnings[0].Summary, "the list NEMO_mqtt_events holds 3 entries") && strings.Contains(h.Warnings[0].Summary, "set LIST_KEY=NEMO_mqtt_events")
	}
	if h, ok := warned(); !ok {
		t.Fatalf("health with the events in NEMO_mqtt_events: %+v", h)
	}

	if err := p.Ingest.Stop(); err != nil {
		t.Fatalf("ingest did not stop cleanly: %v", err)
	}
	older, err := p.Env.StartServiceAs("ingest-older-list", p.Bin, "ingest", "-redis-url", p.Redis.URL(1),
		"-router-addr", p.Router.GRPCAddr, "-ingest-mode", "list", "-list", "NEMO_mqtt_events")
	if err != nil {
		t.Fatal(err)
	}
	if err := older.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	eventIDs(t, sub, 3)
	if log := serviceLog(t, p.Env, "ingest-older-list"); strings.Contains(log, warning) {
		t.Fatalf("ingest reading NEMO_mqtt_events warned:\n%s", log)
	}
	eventually(t, 20*time.Second, func() error {
		if h, _ := warned(); len(h.Warnings) != 0 {
			return fmt.Errorf("health once NEMO_mqtt_events is read: %+v", h.Warnings)
		}
		return nil
	})
}

// The NEMO plugin's own bridge, left on, BLPOPs the list in a loop (1 s
// timeout) and takes events away from the bridge. Ingest says so in its
// log, with the client and what to do, and the gateway in its health and
// on the page; without such a program neither says anything.
func TestListOtherConsumerIsReported(t *testing.T) {
	p := startPipeline(t, harness.PipelineOptions{Ingest: []string{"-ingest-mode", "list", "-list-check-interval", "300ms"}})
	gw, err := p.StartGateway("-ingest-mode", "list")
	if err != nil {
		t.Fatal(err)
	}
	health := "http://" + gw.HTTPAddr + "/v1/health"
	const logged = `msg="Another program seems to be taking NEMO's events from Redis (the list nemo_mqtt_events) before the bridge can read them`
	var h healthWarnings
	eventually(t, 20*time.Second, func() error {
		h = healthWarnings{}
		if code := getJSON(t, health, &h); code != 200 || !h.Healthy {
			return fmt.Errorf("GET /v1/health: %d %+v", code, h)
		}
		return nil
	})
	time.Sleep(time.Second) // several checks by ingest
	if len(h.Warnings) != 0 || strings.Contains(serviceLog(t, p.Env, "ingest"), logged) {
		t.Fatalf("a warning with no other program on the list: %+v\n%s", h, serviceLog(t, p.Env, "ingest"))
	}

	other := redis.NewClient(&redis.Options{Addr: p.Redis.Addr, DB: 1})
	t.Cleanup(func() { _ = other.Close() })
	conn := other.Conn()
	info, err := conn.ClientInfo(ctx(t)).Result()
	if err != nil {
		t.Fatal(err)
	}
	popping, stop := context.WithCancel(ctx(t))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for popping.Err() == nil {
			_ = conn.BLPop(popping, time.Second, "nemo_mqtt_events").Err()
		}
	}()
	eventually(t, 20*time.Second, func() error {
		log := serviceLog(t, p.Env, "ingest")
		if !strings.Contains(log, logged) || !strings.Contains(log, `client_addr=`+info.Addr+` client_name="" cmd=blpop`) ||
			!strings.Contains(log, `uncheck \"Enable MQTT\" and save`) {
			return fmt.Errorf("ingest has not logged the other program %s", info.Addr)
		}
		return nil
	})
	eventually(t, 20*time.Second, func() error {
		h = healthWarnings{}
		getJSON(t, health, &h)
		if len(h.Warnings) != 1 || h.Warnings[0].Code != "other_list_consumer" || !strings.Contains(h.Warnings[0].Detail, info.Addr+" (no name), waiting in blpop") {
			return fmt.Errorf("health: %+v", h)
		}
		if !h.Healthy || h.Summary != h.Warnings[0].Summary || !strings.Contains(h.Summary, `open Customization, then "MQTT Plugin", uncheck "Enable MQTT" and save`) {
			return fmt.Errorf("the sentence with every hop working: %q", h.Summary)
		}
		return nil
	})

	b := openBrowser(t)
	b.do(chromedp.EmulateViewport(1200, 900), chromedp.Navigate("http://"+gw.HTTPAddr+"/"))
	b.waitFor("the page warns of the plugin's bridge", 20*time.Second,
		`document.getElementById('verdict').dataset.state === 'warn' && document.getElementById('summary').innerText.includes('uncheck "Enable MQTT"')`)
	b.screenshot("page-warning.png")
	b.check()

	// The other program goes away (a connection left idle would count for
	// a minute after its last pop).
	stop()
	<-done
	if err := errors.Join(conn.Close(), other.Close()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		h = healthWarnings{}
		getJSON(t, health, &h)
		if len(h.Warnings) != 0 || !strings.Contains(serviceLog(t, p.Env, "ingest"), "no other program takes entries from the list any more") {
			return fmt.Errorf("after the other program stopped: %+v", h)
		}
		return nil
	})
	b.waitFor("the page is green again", 20*time.Second, `document.getElementById('verdict').dataset.state === 'ok'`)
}

// A managed Redis may forbid CLIENT (CLIENT LIST, CLIENT SETNAME) by ACL:
// ingest still works, and says once that it cannot check for other
// programs on the list.
func TestListConsumerCheckRefusedIsSaidOnce(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{Ingest: []string{"-ingest-mode", "list"}})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	rdb := p.Redis.Client(1)
	if err := p.Ingest.Stop(); err != nil {
		t.Fatalf("ingest did not stop cleanly: %v", err)
	}
	if err := rdb.Do(ctx(t), "ACL", "SETUSER", "bridge", "on", ">s3cret", "~*", "&*", "+@all", "-client").Err(); err != nil {
		t.Fatal(err)
	}
	limited, err := p.Env.StartServiceAs("ingest-limited", p.Bin, "ingest", "-redis-url", "redis://bridge:s3cret@"+p.Redis.Addr+"/1",
		"-router-addr", p.Router.GRPCAddr, "-ingest-mode", "list", "-list-check-interval", "100ms")
	if err != nil {
		t.Fatal(err)
	}
	if err := limited.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	entry, _ := pluginEnabled(1, 1764534000.123456)
	if err := harness.LPush(ctx(t), rdb, "nemo_mqtt_events", []string{entry}); err != nil {
		t.Fatal(err)
	}
	eventIDs(t, sub, 1)
	const said = "cannot check whether another program takes entries from the list"
	eventually(t, 10*time.Second, func() error {
		if !strings.Contains(serviceLog(t, p.Env, "ingest-limited"), said) {
			return fmt.Errorf("ingest has not said that the check is unavailable")
		}
		return nil
	})
	time.Sleep(time.Second) // ten more checks, were they still made
	if n := strings.Count(serviceLog(t, p.Env, "ingest-limited"), said); n != 1 {
		t.Fatalf("said %d times that the check is unavailable, want once", n)
	}
}
