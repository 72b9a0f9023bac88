// Package demo plays a small cleanroom for `make run`: users enable and
// disable tools, report problems, tools get shut down and come back, and
// each step becomes the event the NEMO plugin would write.
package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Event is one event in the plugin's envelope.
type Event struct {
	Topic   string
	Payload map[string]any
}

// Envelope is the JSON the plugin writes into Redis (payload as a string).
func (e Event) Envelope(now time.Time) string {
	payload, _ := json.Marshal(e.Payload)
	env, _ := json.Marshal(map[string]any{
		"topic":     e.Topic,
		"payload":   string(payload),
		"qos":       1,
		"retain":    false,
		"timestamp": float64(now.UnixMilli()) / 1000,
	})
	return string(env)
}

type tool struct {
	id       int
	name     string
	user     string // who uses it now, "" when free
	usageID  int
	down     bool // shut down by a task
	openTask int  // id of its open task, 0 when none
}

var (
	toolNames = []string{"Raith EBPG 5200", "Heidelberg MLA150", "Oxford ICP-RIE", "Woollam Ellipsometer",
		"Denton Sputter", "Zeiss Gemini SEM", "AJA Evaporator", "Tystar Furnace"}
	userNames = []string{"Alice Martin", "Bob Nguyen (Staff)", "Chen Wei", "Dana Okafor", "Emilio Rossi (Admin)", "Fatima Zahra"}
	problems  = []string{"Chamber pressure will not go below 5e-6 Torr", "Stage error after loading the wafer",
		"Cooling water flow alarm", "Source shutter stuck half open"}
)

// Lab holds the tools' state so that events follow each other plausibly
// (a tool is disabled only after it was enabled, and so on).
type Lab struct {
	rng    *rand.Rand
	tools  []*tool
	nextID int
}

// NewLab is a lab of eight tools; the same seed plays the same day.
func NewLab(seed int64) *Lab {
	l := &Lab{rng: rand.New(rand.NewPCG(uint64(seed), 0x4e454d4f)), nextID: 1000}
	for i, name := range toolNames {
		l.tools = append(l.tools, &tool{id: i + 1, name: name})
	}
	return l
}

// Next returns what happens next in the lab.
func (l *Lab) Next(now time.Time) []Event {
	t := l.tools[l.rng.IntN(len(l.tools))]
	stamp := now.UTC().Format(time.RFC3339)
	switch roll := l.rng.IntN(100); {
	case t.openTask != 0 && roll < 30:
		return l.resolve(t, now)
	case t.openTask == 0 && roll < 8:
		return l.report(t, stamp, roll < 3)
	case t.user != "":
		return []Event{l.usage(t, "tool_disabled", stamp)}
	case !t.down && roll < 15: // now and then through the legacy usage events
		t.user, t.usageID = l.pick(userNames), l.id()
		start := l.usage(t, "tool_usage_start", stamp)
		start.Topic = fmt.Sprintf("nemo/tools/%s/start", t.name)
		return []Event{start}
	case !t.down:
		t.user, t.usageID = l.pick(userNames), l.id()
		return []Event{l.usage(t, "tool_enabled", stamp)}
	}
	return nil
}

func (l *Lab) usage(t *tool, event, stamp string) Event {
	p := map[string]any{"event": event, "tool_id": t.id, "tool_name": t.name, "usage_id": t.usageID, "user_name": t.user}
	topic := fmt.Sprintf("nemo/tools/%d/enabled", t.id)
	if event == "tool_enabled" || event == "tool_usage_start" {
		p["start_time"] = stamp
	} else {
		p["end_time"] = stamp
		topic = fmt.Sprintf("nemo/tools/%d/disabled", t.id)
		t.user = ""
	}
	return Event{Topic: topic, Payload: p}
}

// report opens a problem; a shutdown takes the tool out of service.
func (l *Lab) report(t *tool, stamp string, shutdown bool) []Event {
	t.openTask = l.id()
	event := "task_created"
	if shutdown {
		event = "task_shutdown"
	}
	task := Event{Topic: fmt.Sprintf("nemo/tools/%d/tasks", t.id), Payload: map[string]any{
		"event": event, "task_id": t.openTask, "tool_id": t.id, "problem_description": l.pick(problems),
		"force_shutdown": shutdown, "safety_hazard": false, "cancelled": false, "resolved": false,
		"created_at": stamp, "updated_at": stamp,
	}}
	if !shutdown {
		return []Event{task}
	}
	t.down = true
	return []Event{task, {Topic: fmt.Sprintf("nemo/tools/%d/non-operational", t.id), Payload: map[string]any{
		"event": "tool_non_operational", "tool_id": t.id, "tool_name": t.name, "timestamp": stamp,
	}}}
}

// resolve closes the open problem and brings a shut-down tool back.
func (l *Lab) resolve(t *tool, now time.Time) []Event {
	stamp := now.UTC().Format(time.RFC3339)
	out := []Event{{Topic: fmt.Sprintf("nemo/tools/%d/tasks", t.id), Payload: map[string]any{
		"event": "task_updated", "task_id": t.openTask, "tool_id": t.id, "resolved": true, "cancelled": false,
		"force_shutdown": t.down, "updated_at": stamp,
	}}}
	if t.down {
		out = append(out, Event{Topic: fmt.Sprintf("nemo/tools/%d/operational", t.id), Payload: map[string]any{
			"event": "tool_operational", "tool_id": t.id, "tool_name": t.name, "timestamp": stamp,
		}})
	}
	t.openTask, t.down = 0, false
	return out
}

func (l *Lab) pick(from []string) string { return from[l.rng.IntN(len(from))] }

func (l *Lab) id() int { l.nextID++; return l.nextID }
