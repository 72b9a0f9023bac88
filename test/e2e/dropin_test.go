package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// A lab's day, as the NEMO plugin writes it into its list (database 1,
// payloads dumped by json.dumps), read by the bridge in list mode with
// the displays profile: after each step a screen that connects reads what
// it must show, and REST answers as NEMO's own /api/tool_status/ would.
func TestPluginEntriesReachScreensAndRESTAsNEMOMeansThem(t *testing.T) {
	t.Parallel()
	p, base := startLikeALab(t)
	rdb := p.Redis.Client(1)
	cjkName := strings.Repeat("電子線描画装置", 8) // 56 characters, 168 bytes
	written := 1764533885.5
	step := func(topic string, payload harness.Py) {
		t.Helper()
		written++
		if err := harness.LPush(ctx(t), rdb, "nemo_mqtt_events", []string{harness.PluginEntry(topic, payload, 1, false, written)}); err != nil {
			t.Fatal(err)
		}
	}
	tool := func(check func(map[string]any) error) {
		t.Helper()
		eventually(t, 20*time.Second, func() error {
			var doc map[string]any
			if code := getJSON(t, base+"/v1/tools/21", &doc); code != http.StatusOK {
				return fmt.Errorf("GET /v1/tools/21: %d", code)
			}
			return check(doc)
		})
	}
	screen := func(topic string, check func(map[string]any) error) {
		t.Helper()
		eventually(t, 20*time.Second, func() error {
			got := retained(t, p, topic)
			raw, ok := got[topic]
			if !ok {
				return fmt.Errorf("nothing retained on %s", topic)
			}
			if n := len(topic) + len(raw); n >= 240 {
				return fmt.Errorf("%s is %d bytes with its topic, over a screen's 240: %s", topic, n, raw)
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(raw), &doc); err != nil {
				return err
			}
			if err := check(doc); err != nil {
				return fmt.Errorf("%s = %s: %w", topic, raw, err)
			}
			return nil
		})
	}

	// Someone starts using a tool with a long CJK name.
	step("nemo/tools/21/enabled", harness.Dict("event", "tool_enabled", "tool_id", 21, "tool_name", cjkName,
		"usage_id", 501, "user_name", "Li (Lily) Wu (lwu)", "start_time", "2026-11-30T20:18:05.123456+00:00"))
	screen("nemo/esp32/21/status", func(d map[string]any) error {
		if d["in_use"] != true || d["user_name"] != "Li" || d["user_label"] != "User" || d["timestamp"] != "Nov 30, 12:18 PM" || d["tool_name"] != "Tool 21" {
			return fmt.Errorf("want in use by Li since Nov 30, 12:18 PM on Tool 21 (the name has no ASCII form)")
		}
		return nil
	})
	tool(func(d map[string]any) error {
		if d["in_use"] != true || d["customer_name"] != "Li (Lily) Wu" || d["current_usage_id"] != 501.0 || d["name"] != cjkName {
			return fmt.Errorf("tool 21 = %v, want in use by Li (Lily) Wu, usage 501, NEMO's name", d)
		}
		return nil
	})

	// A safety hazard without force_shutdown: named task_shutdown by the
	// plugin, but the tool stays operational.
	step("nemo/tools/21/tasks", harness.Dict("event", "task_shutdown", "task_id", 31, "tool_id", 21,
		"problem_description", "Câble dénudé près de la pompe", "force_shutdown", false, "safety_hazard", true,
		"cancelled", false, "resolved", false, "created_at", "2026-11-30T20:30:00+00:00", "updated_at", "2026-11-30T20:30:00+00:00"))
	screen("nemo/esp32/21/task", func(d map[string]any) error {
		if d["event"] != "task_shutdown" || d["problem_description"] != "Cable denude pres de la pompe" {
			return fmt.Errorf("want the plugin's event name and the description in ASCII")
		}
		return nil
	})
	tool(func(d map[string]any) error {
		if d["operational"] != true || d["shutdown"] != false || d["problematic"] != true {
			return fmt.Errorf("tool 21 = %v, want operational, not shut down, a problem reported", d)
		}
		return nil
	})

	// A task that does shut the tool down, then resolved: not operational,
	// then operational again, on the screen and over REST.
	step("nemo/tools/21/tasks", harness.Dict("event", "task_shutdown", "task_id", 32, "tool_id", 21,
		"problem_description", "Pump failed", "force_shutdown", true, "safety_hazard", false,
		"cancelled", false, "resolved", false, "created_at", "2026-11-30T20:40:00+00:00", "updated_at", "2026-11-30T20:40:00+00:00"))
	screen("nemo/esp32/21/operational", func(d map[string]any) error {
		if d["operational"] != false {
			return fmt.Errorf("want not operational after a force_shutdown task")
		}
		return nil
	})
	tool(func(d map[string]any) error {
		if d["operational"] != false || d["shutdown"] != true {
			return fmt.Errorf("tool 21 = %v, want shut down", d)
		}
		return nil
	})
	step("nemo/tools/21/tasks", harness.Dict("event", "task_shutdown", "task_id", 32, "tool_id", 21,
		"problem_description", "Pump failed", "force_shutdown", true, "safety_hazard", false,
		"cancelled", false, "resolved", true, "created_at", "2026-11-30T20:40:00+00:00", "updated_at", "2026-11-30T21:10:00+00:00"))
	screen("nemo/esp32/21/operational", func(d map[string]any) error {
		if d["operational"] != true {
			return fmt.Errorf("want operational again once the shutdown task is resolved")
		}
		return nil
	})
	tool(func(d map[string]any) error {
		if d["operational"] != true || d["shutdown"] != false {
			return fmt.Errorf("tool 21 = %v, want operational and not shut down", d)
		}
		return nil
	})

	// The usage ends: nobody is named as using the tool any more.
	step("nemo/tools/21/disabled", harness.Dict("event", "tool_disabled", "tool_id", 21, "tool_name", cjkName,
		"usage_id", 501, "user_name", "Li (Lily) Wu (lwu)", "end_time", "2026-11-30T21:15:00+00:00"))
	screen("nemo/esp32/21/status", func(d map[string]any) error {
		if d["in_use"] != false || d["event_type"] != "disabled" || d["user_label"] != "Last User" || d["user_name"] != "Li" {
			return fmt.Errorf("want disabled, Last User Li")
		}
		return nil
	})
	tool(func(d map[string]any) error {
		if d["in_use"] != false || d["user"] != "" || d["last_user"] != "Li (Lily) Wu (lwu)" || d["customer_name"] != nil || d["current_usage_id"] != nil {
			return fmt.Errorf("tool 21 = %v, want free, last used by Li, NEMO's usage fields null", d)
		}
		return nil
	})
}
