package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/envelope"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/toolstate"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// displayMsg is a message as a screen receives it.
type displayMsg struct {
	Topic   string
	Retain  bool
	QoS     uint32
	Payload string
}

// pluginEvent is an event as the NEMO plugin writes it into Redis (its
// envelope), with when it was written.
type pluginEvent struct {
	name     string
	envelope string
	written  time.Time
}

// envelopeEvent reads an envelope as ingest does, written when pe says.
func envelopeEvent(t *testing.T, i int, pe pluginEvent) *bridgev1.Event {
	t.Helper()
	id := fmt.Sprintf("%d-0", 1767225600000+i)
	ev, rej := envelope.FromJSON(id, []byte(pe.envelope), envelope.Limits{})
	if rej != nil {
		t.Fatalf("%s: %s", pe.name, rej.Reason)
	}
	ev.Sequence, ev.WrittenAt = id, timestamppb.New(pe.written)
	payload.Decode(ev) // as the router does on receipt: the fields from their spans
	return ev
}

// normal is JSON with its white space and key order made canonical, or
// the text as it is.
func normal(payload []byte) string {
	var v any
	if json.Unmarshal(payload, &v) != nil {
		return string(payload)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

var (
	summer = time.Date(2026, 7, 4, 17, 30, 0, 0, time.UTC) // 10:30 AM PDT (UTC-7)
	winter = time.Date(2026, 1, 15, 20, 5, 0, 0, time.UTC) // 12:05 PM PST (UTC-8)
)

// TestDisplaysGolden feeds the displays profile a day of NEMO events in
// the plugin's envelope, with the tool state folded as the router does,
// and checks every message a screen gets, byte for byte after JSON
// normalisation, in the time zone America/Los_Angeles.
func TestDisplaysGolden(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Displays().WithSettings(Settings{DisplayLocation: la, DisplayNameLength: 13})
	if err != nil {
		t.Fatal(err)
	}
	longName := "The Extremely Long Named Electron Beam Lithography System In The Northeast Corner Of Cleanroom B Bay Four (Raith EBPG 5200+, do not use without training)"
	longDesc := "Vacuum chamber does not pump down below 1e-5 Torr.\n" + strings.Repeat("The turbo pump makes a grinding noise and the interlock trips after about ten minutes; ", 6)
	states := map[int32]*statusv1.Tool{}
	for i, tc := range displayGolden(longName, longDesc) {
		t.Run(fmt.Sprintf("%02d %s", i, tc.event.name), func(t *testing.T) {
			ev := envelopeEvent(t, i, tc.event)
			var state *statusv1.Tool
			if ev.ToolId != nil {
				id := ev.GetToolId()
				if next, ok := toolstate.Fold(states[id], ev, time.Now()); ok {
					states[id] = next
				}
				state = states[id]
			}
			msgs, _, err := set.Apply(ev, state)
			if err != nil {
				t.Fatal(err)
			}
			var got []displayMsg
			for _, m := range msgs {
				got = append(got, displayMsg{m.GetTopic(), m.GetRetain(), m.GetQos(), normal(m.GetPayload())})
				if len(m.GetTopic())+len(m.GetPayload()) >= 240 {
					t.Errorf("%s: %d bytes with the topic, a screen cannot read it", m.GetTopic(), len(m.GetTopic())+len(m.GetPayload()))
				}
			}
			var want []displayMsg
			for _, w := range tc.want {
				w.Payload = normal([]byte(w.Payload))
				want = append(want, w)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

type goldenCase struct {
	event pluginEvent
	want  []displayMsg
}

func screen(topic, payload string) displayMsg { return displayMsg{topic, true, 1, payload} }

func displayGolden(longName, longDesc string) []goldenCase {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	env := func(topic, payload string) string {
		b, _ := json.Marshal(map[string]any{"topic": topic, "payload": payload, "qos": 1, "retain": false, "timestamp": 1767225600.5})
		return string(b)
	}
	return []goldenCase{
		{pluginEvent{"tool enabled, role suffix", env("nemo/tools/12/enabled", `{"event":"tool_enabled","tool_id":12,"tool_name":"Furnace","usage_id":9,"user_name":"Emilio Rossi (Admin)","start_time":"2026-07-04T17:30:00Z"}`), summer}, []displayMsg{
			screen("nemo/esp32/12/status", `{"event_type":"enabled","in_use":true,"time_label":"Enabled Since","timestamp":"Jul 04, 10:30 AM","tool_name":"Furnace","user_label":"User","user_name":"Emilio Rossi"}`),
		}},
		{pluginEvent{"usage start, winter, long user name", env("nemo/tools/Furnace/start", `{"event":"tool_usage_start","usage_id":10,"user_id":3,"user_name":"Bartholomew Fitzgerald-Smythe (Staff)","tool_id":12,"tool_name":"Furnace","start_time":1768507500,"end_time":null}`), winter}, []displayMsg{
			screen("nemo/esp32/12/status", `{"event_type":"active","in_use":true,"time_label":"Enabled Since","timestamp":"Jan 15, 12:05 PM","tool_name":"Furnace","user_label":"User","user_name":"Bartholomew"}`),
		}},
		{pluginEvent{"usage end, no user: the last one", env("nemo/tools/Furnace/end", `{"event":"tool_usage_end","usage_id":10,"user_id":3,"tool_id":"12","tool_name":"Furnace","start_time":1768507500,"end_time":1768511100.25}`), winter.Add(time.Hour)}, []displayMsg{
			screen("nemo/esp32/12/status", `{"event_type":"enabled","in_use":false,"time_label":"Enabled Since","timestamp":"Jan 15, 01:05 PM","tool_name":"Furnace","user_label":"Last User","user_name":"Bartholomew"}`),
		}},
		{pluginEvent{"tool disabled, summer", env("nemo/tools/12/disabled", `{"event":"tool_disabled","tool_id":12,"tool_name":"Furnace","usage_id":9,"user_name":null,"end_time":"2026-07-04T23:59:00Z"}`), summer.Add(6 * time.Hour)}, []displayMsg{
			screen("nemo/esp32/12/status", `{"event_type":"disabled","in_use":false,"time_label":"Disabled Since","timestamp":"Jul 04, 04:59 PM","tool_name":"Furnace","user_label":"Last User","user_name":"Bartholomew"}`),
		}},
		{pluginEvent{"non-operational", env("nemo/tools/12/non-operational", `{"event":"tool_non_operational","tool_id":12,"tool_name":"Furnace","timestamp":1783188000}`), summer}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":false,"timestamp":"2026-07-04T18:00:00Z","tool_id":12,"tool_name":"Furnace"}`),
		}},
		{pluginEvent{"operational, time without zone", env("nemo/tools/12/operational", `{"event":"tool_operational","tool_id":12,"tool_name":"Furnace","timestamp":"2026-07-04T18:30:00"}`), summer}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":true,"timestamp":"2026-07-04T18:30:00Z","tool_id":12,"tool_name":"Furnace"}`),
		}},
		{pluginEvent{"task created", env("nemo/tools/12/tasks", `{"event":"task_created","task_id":4,"tool_id":12,"problem_description":"Chamber leak\nSee the log book","force_shutdown":false,"safety_hazard":false,"cancelled":false,"resolved":false,"created_at":"2026-07-04T18:00:00Z","updated_at":"2026-07-04T18:00:00Z"}`), summer}, []displayMsg{
			screen("nemo/esp32/12/task", `{"event":"task_created","problem_description":"Chamber leak\nSee the log book","task_id":4,"task_summary":"Chamber leak","tool_id":12}`),
			screen("nemo/esp32/12/tasks", `{"open":1,"shown":1,"tasks":[{"force_shutdown":false,"problem_description":"Chamber leak\nSee the log book","task_id":4,"task_summary":"Chamber leak"}],"tool_id":12}`),
		}},
		{pluginEvent{"shutdown task", env("nemo/tools/12/tasks", `{"event":"task_shutdown","task_id":5,"tool_id":12,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":true,"cancelled":false,"resolved":false,"created_at":"2026-07-04T18:10:00Z","updated_at":"2026-07-04T18:10:00Z"}`), summer}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":false,"timestamp":"2026-07-04T18:10:00Z","tool_id":12,"tool_name":"Furnace"}`),
			screen("nemo/esp32/12/task", `{"event":"task_shutdown","problem_description":"Pump failed","task_id":5,"task_summary":"Pump failed","tool_id":12}`),
			// Two tasks take 244 bytes even without their descriptions:
			// the newest is listed, and that two are open.
			screen("nemo/esp32/12/tasks", `{"open":2,"shown":1,"tasks":[{"force_shutdown":true,"problem_description":"Pump failed","task_id":5,"task_summary":"Pump failed"}],"tool_id":12}`),
		}},
		{pluginEvent{"task with a very long description", env("nemo/tools/12/tasks", `{"event":"task_created","task_id":6,"tool_id":12,"problem_description":`+q(longDesc)+`,"force_shutdown":false,"safety_hazard":false,"cancelled":false,"resolved":false,"created_at":"2026-07-04T18:20:00Z","updated_at":"2026-07-04T18:20:00Z"}`), summer}, []displayMsg{
			screen("nemo/esp32/12/task", `{"event":"task_created","problem_description":"Vacuum chamber does not pump down below 1e-5 Torr.\nThe turbo pump makes a grinding no...","task_id":6,"task_summary":"Vacuum chamber does not pump down bel...","tool_id":12}`),
			screen("nemo/esp32/12/tasks", `{"open":3,"shown":1,"tasks":[{"force_shutdown":false,"problem_description":"Vacuum chamber does not pump down below 1e-5 Torr.\nTh...","task_id":6,"task_summary":"Vacuum chamber does not pump down bel..."}],"tool_id":12}`),
		}},
		{pluginEvent{"shutdown cancelled, two still open: operational again", env("nemo/tools/12/tasks", `{"event":"task_updated","task_id":5,"tool_id":12,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":true,"cancelled":true,"resolved":false,"created_at":"2026-07-04T18:10:00Z","updated_at":"2026-07-04T18:40:00Z"}`), summer}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":true,"timestamp":"2026-07-04T18:40:00Z","tool_id":12,"tool_name":"Furnace"}`),
			screen("nemo/esp32/12/task", `{"event":"task_cleared","problem_description":"","task_id":5,"task_summary":"","tool_id":12}`),
			screen("nemo/esp32/12/task", `{"event":"task_created","problem_description":"Vacuum chamber does not pump down below 1e-5 Torr.\nThe turbo pump makes a grinding no...","task_id":6,"task_summary":"Vacuum chamber does not pump down bel...","tool_id":12}`),
			screen("nemo/esp32/12/tasks", `{"open":2,"shown":1,"tasks":[{"force_shutdown":false,"problem_description":"Vacuum chamber does not pump down below 1e-5 Torr.\nTh...","task_id":6,"task_summary":"Vacuum chamber does not pump down bel..."}],"tool_id":12}`),
		}},
		{pluginEvent{"task resolved, one still open", env("nemo/tools/12/tasks", `{"event":"task_updated","task_id":6,"tool_id":12,"cancelled":false,"resolved":true,"updated_at":"2026-07-04T18:50:00Z"}`), summer}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":true,"timestamp":"2026-07-04T18:50:00Z","tool_id":12,"tool_name":"Furnace"}`),
			screen("nemo/esp32/12/task", `{"event":"task_resolved","problem_description":"","task_id":6,"task_summary":"","tool_id":12}`),
			screen("nemo/esp32/12/task", `{"event":"task_created","problem_description":"Chamber leak\nSee the log book","task_id":4,"task_summary":"Chamber leak","tool_id":12}`),
			screen("nemo/esp32/12/tasks", `{"open":1,"shown":1,"tasks":[{"force_shutdown":false,"problem_description":"Chamber leak\nSee the log book","task_id":4,"task_summary":"Chamber leak"}],"tool_id":12}`),
		}},
		{pluginEvent{"last task cancelled", env("nemo/tools/12/tasks", `{"event":"task_updated","task_id":4,"tool_id":12,"cancelled":true,"resolved":false}`), summer}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":true,"timestamp":"2026-07-04T17:30:00Z","tool_id":12,"tool_name":"Furnace"}`),
			screen("nemo/esp32/12/task", `{"event":"task_cleared","problem_description":"","task_id":4,"task_summary":"","tool_id":12}`),
			screen("nemo/esp32/12/tasks", `{"open":0,"shown":0,"tasks":[],"tool_id":12}`),
		}},
		{pluginEvent{"shutdown by flag on a created task", env("nemo/tools/12/tasks", `{"event":"task_created","task_id":7,"tool_id":12,"problem_description":"Smoke","force_shutdown":true}`), winter}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":false,"timestamp":"2026-01-15T20:05:00Z","tool_id":12,"tool_name":"Furnace"}`),
			screen("nemo/esp32/12/task", `{"event":"task_created","problem_description":"Smoke","task_id":7,"task_summary":"Smoke","tool_id":12}`),
			screen("nemo/esp32/12/tasks", `{"open":1,"shown":1,"tasks":[{"force_shutdown":true,"problem_description":"Smoke","task_id":7,"task_summary":"Smoke"}],"tool_id":12}`),
		}},
		{pluginEvent{"a safety hazard alone is no shutdown: the task keeps its name, operational is not said", env("nemo/tools/12/tasks", `{"event":"task_shutdown","task_id":8,"tool_id":12,"problem_description":"Exposed wiring","force_shutdown":false,"safety_hazard":true,"cancelled":false,"resolved":false,"created_at":"2026-01-15T20:10:00Z","updated_at":"2026-01-15T20:10:00Z"}`), winter}, []displayMsg{
			screen("nemo/esp32/12/task", `{"event":"task_shutdown","problem_description":"Exposed wiring","task_id":8,"task_summary":"Exposed wiring","tool_id":12}`),
			screen("nemo/esp32/12/tasks", `{"open":2,"shown":1,"tasks":[{"force_shutdown":false,"problem_description":"Exposed wiring","task_id":8,"task_summary":"Exposed wiring"}],"tool_id":12}`),
		}},
		{pluginEvent{"NEMO saves the tool, shut down", env("nemo/tools/12", `{"event":"tool_updated","tool_id":12,"tool_name":"Furnace","tool_status":false,"timestamp":false}`), winter}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":false,"timestamp":"2026-01-15T20:05:00Z","tool_id":12,"tool_name":"Furnace"}`),
		}},
		{pluginEvent{"shutdown resolved, the hazard still open and sent again by the plugin's name", env("nemo/tools/12/tasks", `{"event":"task_shutdown","task_id":7,"tool_id":12,"problem_description":"Smoke","force_shutdown":true,"safety_hazard":false,"cancelled":false,"resolved":true,"created_at":"2026-01-15T20:05:00Z","updated_at":"2026-01-15T21:00:00Z"}`), winter}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":true,"timestamp":"2026-01-15T21:00:00Z","tool_id":12,"tool_name":"Furnace"}`),
			screen("nemo/esp32/12/task", `{"event":"task_resolved","problem_description":"","task_id":7,"task_summary":"","tool_id":12}`),
			screen("nemo/esp32/12/task", `{"event":"task_shutdown","problem_description":"Exposed wiring","task_id":8,"task_summary":"Exposed wiring","tool_id":12}`),
			screen("nemo/esp32/12/tasks", `{"open":1,"shown":1,"tasks":[{"force_shutdown":false,"problem_description":"Exposed wiring","task_id":8,"task_summary":"Exposed wiring"}],"tool_id":12}`),
		}},
		{pluginEvent{"NEMO saves the tool, operational", env("nemo/tools/12", `{"event":"tool_updated","tool_id":12,"tool_name":"Furnace","tool_status":true,"timestamp":false}`), winter}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":true,"timestamp":"2026-01-15T20:05:00Z","tool_id":12,"tool_name":"Furnace"}`),
		}},
		{pluginEvent{"shut down by hand, then a task updated: NEMO's determine_tool_status", env("nemo/tools/12/non-operational", `{"event":"tool_non_operational","tool_id":12,"tool_name":"Furnace","timestamp":"2026-01-15T21:10:00Z"}`), winter}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":false,"timestamp":"2026-01-15T21:10:00Z","tool_id":12,"tool_name":"Furnace"}`),
		}},
		{pluginEvent{"hazard task updated", env("nemo/tools/12/tasks", `{"event":"task_updated","task_id":8,"tool_id":12,"problem_description":"Exposed wiring, taped","force_shutdown":false,"safety_hazard":true,"cancelled":false,"resolved":false,"created_at":"2026-01-15T20:10:00Z","updated_at":"2026-01-15T21:20:00Z"}`), winter}, []displayMsg{
			screen("nemo/esp32/12/operational", `{"operational":true,"timestamp":"2026-01-15T21:20:00Z","tool_id":12,"tool_name":"Furnace"}`),
			screen("nemo/esp32/12/task", `{"event":"task_updated","problem_description":"Exposed wiring, taped","task_id":8,"task_summary":"Exposed wiring, taped","tool_id":12}`),
			screen("nemo/esp32/12/tasks", `{"open":1,"shown":1,"tasks":[{"force_shutdown":false,"problem_description":"Exposed wiring, taped","task_id":8,"task_summary":"Exposed wiring, taped"}],"tool_id":12}`),
		}},
		{pluginEvent{"very long tool and user names", env("nemo/tools/14/enabled", `{"event":"tool_enabled","tool_id":14,"tool_name":`+q(longName)+`,"usage_id":11,"user_name":"Maximiliansupercalifragilistic Rossi","start_time":"2026-01-15T20:05:00Z"}`), winter}, []displayMsg{
			screen("nemo/esp32/14/status", `{"event_type":"enabled","in_use":true,"time_label":"Enabled Since","timestamp":"Jan 15, 12:05 PM","tool_name":"The Extremely Long Named Electron Beam Lithography Syst...","user_label":"User","user_name":"Maximiliansup"}`),
		}},
		{pluginEvent{"long names, operational", env("nemo/tools/14/non-operational", `{"event":"tool_non_operational","tool_id":14,"tool_name":`+q(longName)+`,"timestamp":false}`), winter}, []displayMsg{
			screen("nemo/esp32/14/operational", `{"operational":false,"timestamp":"2026-01-15T20:05:00Z","tool_id":14,"tool_name":"The Extremely Long Named Electron Beam Lithography System In The Northeast Corner Of Cleanroom B Bay Four (Raith EBPG 5200+, do..."}`),
		}},
		{pluginEvent{"names a screen cannot show", env("nemo/tools/16/enabled", `{"event":"tool_enabled","tool_id":16,"tool_name":"東京エッチャー","usage_id":12,"user_name":"Zoë Ångström-Øster (Admin)","start_time":"2026-11-04T17:03:00Z"}`), winter}, []displayMsg{
			screen("nemo/esp32/16/status", `{"event_type":"enabled","in_use":true,"time_label":"Enabled Since","timestamp":"Nov 04, 09:03 AM","tool_name":"Tool 16","user_label":"User","user_name":"Zoe"}`),
		}},
		{pluginEvent{"no user anywhere", env("nemo/tools/15/enabled", `{"event":"tool_enabled","tool_id":15,"tool_name":"Saw","start_time":"2026-01-15T20:05:00Z"}`), winter}, []displayMsg{
			screen("nemo/esp32/15/status", `{"event_type":"enabled","in_use":true,"time_label":"Enabled Since","timestamp":"Jan 15, 12:05 PM","tool_name":"Saw","user_label":"User","user_name":""}`),
		}},
		{pluginEvent{"overall", env("nemo/tools/overall", `{"tools_up":41,"tools_down":2}`), winter}, []displayMsg{
			screen("nemo/esp32/overall", `{"tools_down":2,"tools_up":41}`),
		}},
		{pluginEvent{"not for screens", env("nemo/reservations/31", `{"event":"reservation_created","id":31,"tool_id":12}`), winter}, nil},
	}
}

// The profile runs beside the main rules: the NEMO topics are still
// published, the screens' messages after them.
func TestDisplaysAlongsideTheMainRules(t *testing.T) {
	set := Default().Alongside(Displays())
	ev := event("nemo/tools/12/enabled", `{"event":"tool_enabled","tool_id":12,"tool_name":"Furnace","user_name":"Ada","start_time":1768507500}`)
	msgs, matched, err := set.Apply(ev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"nemo/tools/12/enabled", "nemo/esp32/12/status"}, topics(msgs)); diff != "" {
		t.Errorf("topics (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"plugin-topics", "displays-status-start"}, matched); diff != "" {
		t.Errorf("matched (-want +got):\n%s", diff)
	}
	if set.Version() == Default().Version() {
		t.Error("the version does not tell the displays profile is on")
	}
	if names := set.Names(); names[0] != "plugin-topics" || names[1] != "displays-status-start" {
		t.Errorf("names %v", names)
	}
}

// However long or strange the names and texts, and however many tasks
// are open, every screen message, topic included, stays under 240 bytes
// and is valid JSON, the list of open tasks too.
func TestDisplayMessagesStayUnder240Bytes(t *testing.T) {
	nasty := []string{
		strings.Repeat("\"\\", 300),
		strings.Repeat("\u0001\t", 300),
		strings.Repeat("🔬 Ünïcödé ", 100),
		strings.Repeat("x", 5000),
		"(" + strings.Repeat("Admin", 50) + ")",
	}
	state := &statusv1.Tool{Id: 123456789}
	for i, text := range nasty {
		state.OpenTasks = append(state.OpenTasks, &statusv1.Task{Id: int32(987654320 + i), ProblemDescription: text, ForceShutdown: true})
	}
	for _, text := range nasty {
		q, _ := json.Marshal(text)
		for _, p := range []string{
			`{"event":"tool_usage_start","tool_id":123456789,"tool_name":%[1]s,"user_name":%[1]s}`,
			`{"event":"tool_disabled","tool_id":123456789,"tool_name":%[1]s,"user_name":%[1]s}`,
			`{"event":"tool_non_operational","tool_id":123456789,"tool_name":%[1]s}`,
			`{"event":"task_shutdown","task_id":987654321,"tool_id":123456789,"tool_name":%[1]s,"problem_description":%[1]s}`,
			`{"event":"task_updated","task_id":987654321,"tool_id":123456789,"cancelled":true}`,
		} {
			ev := event("nemo/tools/x", fmt.Sprintf(p, q))
			state.Name, state.LastUser = text, text
			msgs, _, err := Displays().Apply(ev, state)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if !json.Valid(m.GetPayload()) {
					t.Errorf("%s: not JSON: %q", m.GetTopic(), m.GetPayload())
				}
				if n := len(m.GetTopic()) + len(m.GetPayload()); n >= 240 {
					t.Errorf("%s: %d bytes: %s", m.GetTopic(), n, m.GetPayload())
				}
			}
		}
	}
}

// A router without Redis keeps no tool state: {state: …} then holds
// nothing and the profile falls back on what the event alone says, so a
// screen still reads a true or false, never null, and a safety hazard
// alone still says nothing about operational.
func TestDisplaysWithoutToolState(t *testing.T) {
	for _, tc := range []struct {
		name, payload string
		// operational is the value sent on nemo/esp32/12/operational,
		// "" for no message there.
		operational string
	}{
		{"operational", `{"event":"tool_operational","tool_id":12,"tool_name":"Furnace","timestamp":1783188000}`, "true"},
		{"non-operational", `{"event":"tool_non_operational","tool_id":12,"tool_name":"Furnace","timestamp":1783188000}`, "false"},
		{"tool saved not operational", `{"event":"tool_updated","tool_id":12,"tool_name":"Furnace","tool_status":false,"timestamp":false}`, "false"},
		{"tool created operational", `{"event":"tool_created","tool_id":12,"tool_name":"Furnace","tool_status":true,"timestamp":true}`, "true"},
		{"shutdown task", `{"event":"task_shutdown","task_id":5,"tool_id":12,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":false,"cancelled":false,"resolved":false}`, "false"},
		{"shutdown task cancelled", `{"event":"task_shutdown","task_id":5,"tool_id":12,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":false,"cancelled":true,"resolved":false}`, "true"},
		{"shutdown task resolved", `{"event":"task_shutdown","task_id":5,"tool_id":12,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":false,"cancelled":false,"resolved":true}`, "true"},
		{"task updated", `{"event":"task_updated","task_id":4,"tool_id":12,"problem_description":"Leak","force_shutdown":false,"safety_hazard":false,"cancelled":false,"resolved":false}`, "true"},
		{"safety hazard alone", `{"event":"task_shutdown","task_id":6,"tool_id":12,"problem_description":"Wiring","force_shutdown":false,"safety_hazard":true,"cancelled":false,"resolved":false}`, ""},
		{"task created", `{"event":"task_created","task_id":4,"tool_id":12,"problem_description":"Leak","force_shutdown":false,"safety_hazard":false,"cancelled":false,"resolved":false}`, ""},
	} {
		msgs, _, err := Displays().Apply(event("nemo/tools/12/tasks", tc.payload), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := ""
		for _, m := range msgs {
			if m.GetTopic() != "nemo/esp32/12/operational" {
				continue
			}
			var p struct {
				Operational json.RawMessage `json:"operational"`
			}
			if err := json.Unmarshal(m.GetPayload(), &p); err != nil {
				t.Fatalf("%s: %v in %s", tc.name, err, m.GetPayload())
			}
			got = string(p.Operational)
		}
		if got != tc.operational {
			t.Errorf("%s without tool state: operational %q, want %q", tc.name, got, tc.operational)
		}
	}
	// The screen's status after tool_enabled says in use by the user the
	// event names, state or not.
	msgs, _, err := Displays().Apply(event("nemo/tools/12/enabled", `{"event":"tool_enabled","tool_id":12,"tool_name":"Furnace","usage_id":9,"user_name":"Emilio Rossi (erossi)","start_time":1768507500}`), nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("tool_enabled without state: %v, %v", msgs, err)
	}
	var status struct {
		EventType string `json:"event_type"`
		InUse     bool   `json:"in_use"`
		UserLabel string `json:"user_label"`
		UserName  string `json:"user_name"`
	}
	if err := json.Unmarshal(msgs[0].GetPayload(), &status); err != nil {
		t.Fatal(err)
	}
	if status.EventType != "enabled" || !status.InUse || status.UserLabel != "User" || status.UserName != "Emilio Rossi" {
		t.Errorf("tool_enabled without state: %+v, want enabled, in use by Emilio Rossi", status)
	}
}

// Ten open tasks with long descriptions, in Latin with accents or in CJK
// letters: the list on nemo/esp32/{id}/tasks still fits a screen, says
// that ten are open, and holds the newest ones, the newest last, in
// ASCII by default and in UTF-8.
func TestOpenTasksFitAScreen(t *testing.T) {
	words := []string{"Pompe à vide défaillante, bruit métallique ", "真空ポンプが異音を発して停止しました。", "Überhitzung im Kühlkreislauf – Ventil prüfen "}
	state := &statusv1.Tool{Id: 12, Name: "Furnace"}
	for i := range 10 {
		desc := []rune(fmt.Sprintf("Task %d: ", i+1) + strings.Repeat(words[(i+1)%len(words)], 20))
		state.OpenTasks = append(state.OpenTasks, &statusv1.Task{Id: int32(100 + i), ProblemDescription: string(desc[:300])})
	}
	ev := event("nemo/tools/12/tasks", `{"event":"task_created","task_id":109,"tool_id":12,"problem_description":"x"}`)
	for _, st := range []Settings{{}, {DisplayUTF8: true}} {
		msgs, _, err := mustWith(t, Displays(), st).Apply(ev, state)
		if err != nil {
			t.Fatal(err)
		}
		m := msgs[len(msgs)-1]
		if m.GetTopic() != "nemo/esp32/12/tasks" {
			t.Fatalf("last message on %s", m.GetTopic())
		}
		if n := len(m.GetTopic()) + len(m.GetPayload()); n > 239 {
			t.Errorf("%d bytes: %s", n, m.GetPayload())
		}
		var got struct {
			Open, Shown int
			Tasks       []struct {
				TaskID             int32  `json:"task_id"`
				TaskSummary        string `json:"task_summary"`
				ProblemDescription string `json:"problem_description"`
			}
		}
		if err := json.Unmarshal(m.GetPayload(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Open != 10 || got.Shown != len(got.Tasks) || got.Shown < 1 {
			t.Fatalf("open %d, shown %d, %d listed: %s", got.Open, got.Shown, len(got.Tasks), m.GetPayload())
		}
		for i, task := range got.Tasks {
			if want := int32(110 - len(got.Tasks) + i); task.TaskID != want {
				t.Errorf("task %d listed at %d, want %d: %s", task.TaskID, i, want, m.GetPayload())
			}
		}
		if newest := got.Tasks[len(got.Tasks)-1]; newest.TaskSummary == "" {
			t.Errorf("the newest task has no summary: %s", m.GetPayload())
		}
	}
}

// A tool named "Etch/RIE 2" gets more topic levels on NEMO's legacy usage
// topics, as the plugin gives them; its screen reads the tool's id, and
// gets the message all the same.
func TestToolNameWithASlashReachesItsScreen(t *testing.T) {
	ev := event("nemo/tools/Etch/RIE 2/start", `{"event":"tool_usage_start","usage_id":3,"user_name":"Ada Lovelace (Staff)","tool_id":7,"tool_name":"Etch/RIE 2","start_time":1768507500}`)
	msgs, _, err := Default().Alongside(Displays()).Apply(ev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"nemo/tools/Etch/RIE 2/start", "nemo/esp32/7/status"}, topics(msgs)); diff != "" {
		t.Fatalf("topics (-want +got):\n%s", diff)
	}
	want := `{"event_type":"active","in_use":true,"timestamp":"Jan 15, 08:05 PM","time_label":"Enabled Since","user_label":"User","user_name":"Ada Lovelace","tool_name":"Etch/RIE 2"}`
	if got := string(msgs[1].GetPayload()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// A screen shows when NEMO says the tool was enabled, as the display
// server wrote it ("%b %d, %I:%M %p", day and hour zero-padded), not when
// the bridge read the event: after a backlog, the real time.
func TestDisplayTimeIsNEMOsInTheServersFormat(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	set := mustWith(t, Displays(), Settings{DisplayLocation: la})
	for start, want := range map[string]string{
		"2026-12-01T04:18:00Z": "Nov 30, 08:18 PM",
		"2026-11-04T17:03:00Z": "Nov 04, 09:03 AM",
		"2026-07-04T07:00:00Z": "Jul 04, 12:00 AM",
	} {
		ev := event("nemo/tools/12/enabled", `{"event":"tool_enabled","tool_id":12,"tool_name":"Furnace","user_name":"Ada","start_time":"`+start+`"}`)
		ev.WrittenAt = timestamppb.New(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
		ev.ReadAt = timestamppb.New(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
		msgs, _, err := set.Apply(ev, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Timestamp string }
		if err := json.Unmarshal(msgs[0].GetPayload(), &got); err != nil || got.Timestamp != want {
			t.Errorf("start_time %s: %q, want %q (%v)", start, got.Timestamp, want, err)
		}
	}
}
