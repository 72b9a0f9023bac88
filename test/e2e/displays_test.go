package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// displayEnvelope is an event as the NEMO plugin writes it, with the
// payload as an object.
func displayEnvelope(topic, payload string) string {
	return fmt.Sprintf(`{"topic":%q,"payload":%s,"qos":1,"retain":false,"timestamp":1767225600.5}`, topic, payload)
}

// retained connects a fresh subscriber, as a screen that just switched on,
// and returns the retained messages it gets (topic → payload, JSON
// normalised), once nothing new came for a moment.
func retained(t *testing.T, p *harness.Pipeline, filter string) map[string]string {
	t.Helper()
	s, err := p.SubscribeAs("", "", filter, 0) // screens subscribe at QoS 0
	if err != nil {
		t.Fatal(err)
	}
	_ = s.WaitFor(700*time.Millisecond, func([]harness.Message) (bool, string) { return false, "" })
	got := map[string]string{}
	for _, m := range s.Messages() {
		if m.Retain {
			got[m.Topic] = normalJSON(m.Payload)
		}
	}
	return got
}

func normalJSON(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(out.String())
}

// After each NEMO event, a screen that connects reads exactly what it must
// show, retained; the NEMO topics are still published beside.
func TestDisplaysProfile(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{
		Router:    []string{"-displays", "-display-timezone", "America/Los_Angeles"},
		Publisher: []string{"-presence-topic", "nemo/server/status"},
	})
	nemo := subscribe(t, p, "nemo/tools/#")
	rdb := p.Redis.Client(1)
	const (
		status      = "nemo/esp32/12/status"
		operational = "nemo/esp32/12/operational"
		task        = "nemo/esp32/12/task"
		tasks       = "nemo/esp32/12/tasks"
	)
	steps := []struct {
		name, topic, payload string
		want                 map[string]string
	}{
		{"tool enabled, summer time", "nemo/tools/12/enabled",
			`{"event":"tool_enabled","tool_id":12,"tool_name":"Furnace","usage_id":9,"user_name":"Emilio Rossi (Admin)","start_time":"2026-07-04T17:30:00Z"}`,
			map[string]string{
				status:               `{"event_type":"enabled","in_use":true,"timestamp":"Jul 04, 10:30 AM","time_label":"Enabled Since","user_label":"User","user_name":"Emilio Rossi","tool_name":"Furnace"}`,
				"nemo/server/status": "online",
			}},
		{"usage start, winter time, long name", "nemo/tools/Furnace/start",
			`{"event":"tool_usage_start","usage_id":10,"user_id":3,"user_name":"Bartholomew Fitzgerald-Smythe (Staff)","tool_id":12,"tool_name":"Furnace","start_time":1768507500,"end_time":null}`,
			map[string]string{
				status: `{"event_type":"active","in_use":true,"timestamp":"Jan 15, 12:05 PM","time_label":"Enabled Since","user_label":"User","user_name":"Bartholomew","tool_name":"Furnace"}`,
			}},
		{"usage end without a user: the last one", "nemo/tools/Furnace/end",
			`{"event":"tool_usage_end","usage_id":10,"user_id":3,"tool_id":12,"tool_name":"Furnace","start_time":1768507500,"end_time":1768511100}`,
			map[string]string{
				status: `{"event_type":"enabled","in_use":false,"timestamp":"Jan 15, 01:05 PM","time_label":"Enabled Since","user_label":"Last User","user_name":"Bartholomew","tool_name":"Furnace"}`,
			}},
		{"non-operational", "nemo/tools/12/non-operational",
			`{"event":"tool_non_operational","tool_id":12,"tool_name":"Furnace","timestamp":"2026-07-04T18:00:00Z"}`,
			map[string]string{
				operational: `{"operational":false,"tool_id":12,"tool_name":"Furnace","timestamp":"2026-07-04T18:00:00Z"}`,
			}},
		{"task created", "nemo/tools/12/tasks",
			`{"event":"task_created","task_id":4,"tool_id":12,"problem_description":"Chamber leak\nSee the log book","force_shutdown":false,"safety_hazard":false,"cancelled":false,"resolved":false,"created_at":"2026-07-04T18:00:00Z","updated_at":"2026-07-04T18:00:00Z"}`,
			map[string]string{
				task:  `{"event":"task_created","task_id":4,"tool_id":12,"task_summary":"Chamber leak","problem_description":"Chamber leak\nSee the log book"}`,
				tasks: `{"tool_id":12,"open":1,"shown":1,"tasks":[{"task_id":4,"task_summary":"Chamber leak","problem_description":"Chamber leak\nSee the log book","force_shutdown":false}]}`,
			}},
		{"shutdown task", "nemo/tools/12/tasks",
			`{"event":"task_shutdown","task_id":5,"tool_id":12,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":true,"cancelled":false,"resolved":false,"created_at":"2026-07-04T18:10:00Z","updated_at":"2026-07-04T18:10:00Z"}`,
			map[string]string{
				operational: `{"operational":false,"tool_id":12,"tool_name":"Furnace","timestamp":"2026-07-04T18:10:00Z"}`,
				task:        `{"event":"task_shutdown","task_id":5,"tool_id":12,"task_summary":"Pump failed","problem_description":"Pump failed"}`,
				// Both tasks do not fit a screen's 240 bytes: the newest,
				// and that two are open.
				tasks: `{"tool_id":12,"open":2,"shown":1,"tasks":[{"task_id":5,"task_summary":"Pump failed","problem_description":"Pump failed","force_shutdown":true}]}`,
			}},
		{"shutdown cancelled: operational again, the other task is still shown", "nemo/tools/12/tasks",
			`{"event":"task_updated","task_id":5,"tool_id":12,"problem_description":"Pump failed","force_shutdown":true,"cancelled":true,"resolved":false,"updated_at":"2026-07-04T18:40:00Z"}`,
			map[string]string{
				operational: `{"operational":true,"tool_id":12,"tool_name":"Furnace","timestamp":"2026-07-04T18:40:00Z"}`,
				task:        `{"event":"task_created","task_id":4,"tool_id":12,"task_summary":"Chamber leak","problem_description":"Chamber leak\nSee the log book"}`,
				tasks:       `{"tool_id":12,"open":1,"shown":1,"tasks":[{"task_id":4,"task_summary":"Chamber leak","problem_description":"Chamber leak\nSee the log book","force_shutdown":false}]}`,
			}},
		{"a safety hazard alone: no shutdown on the screen", "nemo/tools/12/tasks",
			`{"event":"task_shutdown","task_id":6,"tool_id":12,"problem_description":"Exposed wiring","force_shutdown":false,"safety_hazard":true,"cancelled":false,"resolved":false,"created_at":"2026-07-04T18:45:00Z","updated_at":"2026-07-04T18:45:00Z"}`,
			map[string]string{
				operational: `{"operational":true,"tool_id":12,"tool_name":"Furnace","timestamp":"2026-07-04T18:40:00Z"}`,
				task:        `{"event":"task_shutdown","task_id":6,"tool_id":12,"task_summary":"Exposed wiring","problem_description":"Exposed wiring"}`,
			}},
		{"hazard resolved", "nemo/tools/12/tasks",
			`{"event":"task_shutdown","task_id":6,"tool_id":12,"problem_description":"Exposed wiring","force_shutdown":false,"safety_hazard":true,"cancelled":false,"resolved":true}`,
			map[string]string{
				task: `{"event":"task_created","task_id":4,"tool_id":12,"task_summary":"Chamber leak","problem_description":"Chamber leak\nSee the log book"}`,
			}},
		{"last task resolved", "nemo/tools/12/tasks",
			`{"event":"task_updated","task_id":4,"tool_id":12,"cancelled":false,"resolved":true}`,
			map[string]string{
				task:  `{"event":"task_resolved","task_id":4,"tool_id":12,"task_summary":"","problem_description":""}`,
				tasks: `{"tool_id":12,"open":0,"shown":0,"tasks":[]}`,
			}},
		{"overall passed through", "nemo/tools/overall", `{"tools_up":41,"tools_down":2}`,
			map[string]string{"nemo/esp32/overall": `{"tools_up":41,"tools_down":2}`}},
	}
	for _, step := range steps {
		if err := harness.XAdd(ctx(t), rdb, "nemo:events", []string{displayEnvelope(step.topic, step.payload)}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() error {
			got := retained(t, p, "nemo/#")
			for topic, payload := range step.want {
				if want := normalJSON([]byte(payload)); got[topic] != want {
					return fmt.Errorf("%s: a screen connecting now reads on %s\n  %s\nwant\n  %s", step.name, topic, got[topic], want)
				}
				if len(topic)+len(got[topic]) >= 240 {
					return fmt.Errorf("%s: %s is too long for a screen", step.name, topic)
				}
			}
			return nil
		})
	}
	// The NEMO topics and the tool's state snapshot are published as
	// without the profile.
	err := nemo.WaitFor(15*time.Second, func(msgs []harness.Message) (bool, string) {
		seen := map[string]bool{}
		for _, m := range msgs {
			seen[m.Topic] = true
		}
		for _, topic := range []string{"nemo/tools/12/enabled", "nemo/tools/Furnace/start", "nemo/tools/12/tasks", "nemo/tools/12/status", "nemo/tools/overall"} {
			if !seen[topic] {
				return false, "no message on " + topic
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	nothingPending(t, p)
}

// nemo/server/status says offline, retained, when the publisher is killed
// (the presence connection's last will) and when it stops cleanly, and
// online when it is back.
func TestPresenceTopic(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{Publisher: []string{"-presence-topic", "nemo/server/status"}})
	serverStatus := func(want string) {
		t.Helper()
		eventually(t, 30*time.Second, func() error {
			if got := retained(t, p, "nemo/server/status")["nemo/server/status"]; got != want {
				return fmt.Errorf("a screen connecting now reads %q on nemo/server/status, want %q", got, want)
			}
			return nil
		})
	}
	serverStatus("online")
	p.Publisher.Kill9()
	serverStatus("offline")
	if err := p.Publisher.Start(); err != nil {
		t.Fatal(err)
	}
	serverStatus("online")
	if err := p.Publisher.Stop(); err != nil {
		t.Fatal(err)
	}
	serverStatus("offline")
}

// Only the active publisher keeps the presence connection: a standby
// opens none, and opens it when it takes over, which says online again.
func TestPresenceOnlyFromTheActivePublisher(t *testing.T) {
	t.Parallel()
	p, active, standby := startPublisherPair(t, "bridge-presence", "-lease-ttl", "2s", "-presence-topic", "nemo/server/status")
	broker := p.Broker
	serverStatus := func(want string) {
		t.Helper()
		eventually(t, 30*time.Second, func() error {
			if got := retained(t, p, "nemo/server/status")["nemo/server/status"]; got != want {
				return fmt.Errorf("a screen connecting now reads %q on nemo/server/status, want %q", got, want)
			}
			return nil
		})
	}
	presenceConnects := func() int {
		log, err := broker.Log()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(log, "already connected") {
			t.Fatalf("two presence connections fought:\n%s", grep(log, "bridge-presence"))
		}
		return strings.Count(log, "as bridge-presence-presence")
	}
	serverStatus("online")
	time.Sleep(3 * time.Second) // the standby has had time to do wrong
	if n := presenceConnects(); n != 1 {
		t.Fatalf("%d presence connections with the standby waiting, want 1", n)
	}
	active.Kill9()
	if err := standby.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	serverStatus("online")
	if n := presenceConnects(); n != 2 {
		t.Fatalf("%d presence connections after the takeover, want 2", n)
	}
}
