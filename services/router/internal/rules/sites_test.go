package rules

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
)

// Every topic of a named site's event, the rules' and the status
// snapshot's alike, goes under the site's topic prefix, before the rules'
// own {prefix}: no rule can put two sites' tool 12 on one topic.
func TestASitesTopicsGoUnderItsPrefix(t *testing.T) {
	set, err := Default().WithPrefix("lab/")
	if err != nil {
		t.Fatal(err)
	}
	ev := event("nemo/tools/12/enabled", `{"event":"tool_enabled","tool_id":12}`)
	payload.SetSite(ev, payload.Site{Name: "north", TopicPrefix: "north/"})
	msgs, _, err := set.Apply(ev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := topics(msgs), []string{"north/lab/nemo/tools/12/enabled"}; !slices.Equal(got, want) {
		t.Errorf("topics %q, want %q", got, want)
	}
	if msgs[0].GetSite() != "north" || msgs[0].GetOrderingKey() != "north/tool:12" {
		t.Errorf("message site %q, ordering key %q; want north and north/tool:12", msgs[0].GetSite(), msgs[0].GetOrderingKey())
	}
	site := "north"
	snap, err := set.SnapshotDoc(&statusv1.Tool{Id: 12, Site: &site}, nil, ev)
	if err != nil {
		t.Fatal(err)
	}
	if snap.GetTopic() != "north/lab/nemo/tools/12/status" {
		t.Errorf("snapshot topic %q", snap.GetTopic())
	}

	// The displays profile writes fixed topics; a site's go under its
	// prefix too, so each site's screens subscribe under their own.
	displays, err := Displays().WithSettings(Settings{})
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err = displays.Apply(ev, &statusv1.Tool{Id: 12, Site: &site, InUse: true, Operational: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 0 {
		t.Fatal("the displays profile published nothing for tool_enabled")
	}
	for _, m := range msgs {
		if !strings.HasPrefix(m.GetTopic(), "north/nemo/esp32/") {
			t.Errorf("display topic %q is not under north/", m.GetTopic())
		}
	}

	// A prefix that makes a topic longer than brokers take refuses the
	// event, saying so, as a long {prefix} does.
	payload.SetSite(ev, payload.Site{Name: "north", TopicPrefix: strings.Repeat("n", 65535)})
	if _, _, err := set.Apply(ev, nil); err == nil || !strings.Contains(err.Error(), "65535") && !strings.Contains(err.Error(), "65,535") {
		t.Errorf("a topic over MQTT's limit: %v", err)
	}
}

// A site's displays show times in the site's time zone
// (Event.site_display_timezone) when it names one, else in the router's;
// one this router cannot load leaves the router's.
func TestASitesDisplaysShowItsOwnTime(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	set := mustWith(t, Displays(), Settings{DisplayLocation: la})
	for zone, want := range map[string]string{
		"":             "Nov 04, 09:03 AM", // the router's zone
		"Europe/Paris": "Nov 04, 06:03 PM",
		"Asia/Tokyo":   "Nov 05, 02:03 AM",
		"Not/A_Zone":   "Nov 04, 09:03 AM",
		"Local":        "Nov 04, 09:03 AM",
	} {
		ev := event("nemo/tools/12/enabled", `{"event":"tool_enabled","tool_id":12,"tool_name":"Furnace","user_name":"Ada","start_time":"2026-11-04T17:03:00Z"}`)
		payload.SetSite(ev, payload.Site{Name: "north", TopicPrefix: "north/", DisplayTimezone: zone})
		msgs, _, err := set.Apply(ev, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Timestamp string }
		if err := json.Unmarshal(msgs[0].GetPayload(), &got); err != nil || got.Timestamp != want {
			t.Errorf("zone %q: %q, want %q (%v)", zone, got.Timestamp, want, err)
		}
	}
}
