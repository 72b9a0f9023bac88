package rules

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"google.golang.org/protobuf/testing/protocmp"
)

// pluginEvents are the events the NEMO plugin emits (DESIGN.md, "Inputs"),
// on its topics, and the topic a broker gets.
var pluginEvents = []struct {
	topic, payload string
	qos            uint32
	retain         bool
	published      string
}{
	{"nemo/tools/12/enabled", `{"event":"tool_enabled","tool_id":12,"tool_name":"Furnace","usage_id":9,"user_name":"Ada","start_time":"2025-10-14T18:00:11Z"}`, 1, false, "nemo/tools/12/enabled"},
	{"nemo/tools/12/disabled", `{"event":"tool_disabled","tool_id":12,"tool_name":"Furnace","usage_id":9,"user_name":"Ada","end_time":"2025-10-14T19:00:11Z"}`, 1, true, "nemo/tools/12/disabled"},
	{"nemo/tools/Big Tool+X/start", `{"event":"tool_usage_start","usage_id":9,"user_id":3,"user_name":"Ada","tool_id":12,"tool_name":"Big Tool+X","start_time":1760468411.106,"end_time":null}`, 0, false, "nemo/tools/Big Tool_X/start"},
	{"nemo/tools/Big Tool+X/end", `{"event":"tool_usage_end","usage_id":9,"user_id":3,"user_name":"Ada","tool_id":"12","tool_name":"Big Tool+X","start_time":1760468411.106,"end_time":1760472011.5}`, 2, false, "nemo/tools/Big Tool_X/end"},
	{"nemo/tools/12/operational", `{"event":"tool_operational","tool_id":12,"tool_name":"Furnace","timestamp":"2025-10-14T18:00:11"}`, 1, true, "nemo/tools/12/operational"},
	{"nemo/tools/12/non-operational", `{"event":"tool_non_operational","tool_id":12,"tool_name":"Furnace","timestamp":1760468411}`, 1, true, "nemo/tools/12/non-operational"},
	{"nemo/tools/12/tasks", `{"event":"task_created","task_id":4,"tool_id":12,"problem_description":"leak","force_shutdown":false,"safety_hazard":false,"cancelled":false,"resolved":false,"created_at":"x","updated_at":"x"}`, 1, false, "nemo/tools/12/tasks"},
	{"nemo/tools/12/tasks", `{"event":"task_updated","task_id":4,"tool_id":12}`, 1, false, "nemo/tools/12/tasks"},
	{"nemo/tools/12/tasks", `{"event":"task_shutdown","task_id":4,"tool_id":12,"force_shutdown":true}`, 1, false, "nemo/tools/12/tasks"},
	{"nemo/tools/12", `{"event":"tool_created","tool_id":12,"tool_name":"Furnace","tool_status":true,"timestamp":false}`, 1, true, "nemo/tools/12"},
	{"nemo/tools/12", `{"event":"tool_updated","tool_id":12,"tool_name":"Furnace","tool_status":false,"timestamp":false}`, 1, true, "nemo/tools/12"},
	{"nemo/reservations/31", `{"event":"reservation_created","id":31,"tool_id":12}`, 1, false, "nemo/reservations/31"},
	{"nemo/areas/3", `{"event":"area_access_granted","id":3}`, 1, false, "nemo/areas/3"},
	{"nemo/area_access/3", `{"event":"area_access_ended","id":3}`, 1, false, "nemo/area_access/3"},
	{"nemo/tools/12/calibration", `{"event":"calibration_due","tool_id":12}`, 1, false, "nemo/tools/12/calibration"},
	{"nemo/tools/overall", `all tools up`, 0, true, "nemo/tools/overall"},
}

func TestDefaultReproducesThePluginsTopics(t *testing.T) {
	for _, prefix := range []string{"", "site1/"} {
		rules, err := Default().WithPrefix(prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, pe := range pluginEvents {
			ev := decoded(&bridgev1.Event{Id: "7-0", Topic: pe.topic, Payload: []byte(pe.payload), Qos: pe.qos, Retain: pe.retain})
			got, matched, err := rules.Apply(ev, nil)
			if err != nil {
				t.Fatalf("%s: %v", pe.topic, err)
			}
			// The message the router published before it had rules: the
			// plugin's, with the topic made safe.
			want := []*bridgev1.Message{{
				Topic:       prefix + pe.published,
				Payload:     []byte(pe.payload),
				Qos:         pe.qos,
				Retain:      pe.retain,
				OrderingKey: ev.GetOrderingKey(), // the event's, whatever it is (see envelope's tests)
				ToolId:      ev.ToolId,
				EventId:     "7-0",
			}}
			if json.Valid(want[0].Payload) {
				want[0].ContentType = "application/json"
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("%s: differs from the plugin's message (-want +got):\n%s", pe.topic, diff)
			}
			if diff := cmp.Diff([]string{"plugin-topics"}, matched); diff != "" {
				t.Errorf("%s: matched (-want +got):\n%s", pe.topic, diff)
			}
		}
	}
}

func TestDefaultPrefixComesFromTheFile(t *testing.T) {
	if p := Default().prefix; p != "" {
		t.Errorf("default prefix %q", p)
	}
}

func TestVersion(t *testing.T) {
	d := Default()
	if v := d.Version(); len(v) != 12 || v != Default().Version() {
		t.Errorf("version %q is not a stable 12-digit hash", v)
	}
	prefixed, _ := d.WithPrefix("site1/")
	if prefixed.Version() == d.Version() {
		t.Error("WithPrefix keeps the version; status pages could not tell the rules apart")
	}
	if p, _ := d.WithPrefix(""); p.Version() == prefixed.Version() {
		t.Error("two prefixes share a version")
	}
	if other := mustParse(t, "rules: [{name: a, publish: []}]\n"); other.Version() == d.Version() {
		t.Error("different files share a version")
	}
}

func TestWithPrefixRefusesUnsafePrefixes(t *testing.T) {
	for _, p := range []string{"a/+/", "#", "$SYS/", "a\x00"} {
		if _, err := Default().WithPrefix(p); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}
