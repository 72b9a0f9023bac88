package demo

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A day in the demo lab follows the rules of a real one.
func TestDemoEventsFollowEachOtherPlausibly(t *testing.T) {
	l := NewLab(7)
	inUse := map[any]bool{}
	down := map[any]bool{}
	seen := map[string]bool{}
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for range 2000 {
		for _, e := range l.Next(now) {
			id := e.Payload["tool_id"]
			ev := e.Payload["event"].(string)
			seen[ev] = true
			switch ev {
			case "tool_enabled", "tool_usage_start":
				if inUse[id] || down[id] {
					t.Fatalf("%s of tool %v while in use %v or down %v", ev, id, inUse[id], down[id])
				}
				inUse[id] = true
			case "tool_disabled":
				if !inUse[id] {
					t.Fatalf("tool_disabled of tool %v that nobody enabled", id)
				}
				inUse[id] = false
			case "tool_non_operational":
				down[id] = true
			case "tool_operational":
				down[id] = false
			}
			wantTopic := map[string]string{
				"tool_enabled": "nemo/tools/%v/enabled", "tool_disabled": "nemo/tools/%v/disabled",
				"tool_operational": "nemo/tools/%v/operational", "tool_non_operational": "nemo/tools/%v/non-operational",
				"task_created": "nemo/tools/%v/tasks", "task_shutdown": "nemo/tools/%v/tasks", "task_updated": "nemo/tools/%v/tasks",
			}[ev]
			if wantTopic != "" && e.Topic != fmt.Sprintf(wantTopic, id) {
				t.Fatalf("%s on topic %s", ev, e.Topic)
			}
			if ev == "tool_usage_start" && (!strings.HasPrefix(e.Topic, "nemo/tools/") || !strings.Contains(e.Topic, " ")) {
				t.Fatalf("legacy usage start on %s, want the tool's name in the topic", e.Topic)
			}
		}
		now = now.Add(time.Minute)
	}
	for _, ev := range []string{"tool_enabled", "tool_disabled", "tool_usage_start", "task_created", "task_shutdown", "task_updated", "tool_non_operational", "tool_operational"} {
		if !seen[ev] {
			t.Errorf("a demo day has no %s", ev)
		}
	}
}
