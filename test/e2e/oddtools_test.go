package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// disableEvenTools are the plugin's envelopes disabling tools 2, 4, … up
// to tools-1: after harness.Events enabled every tool, the odd ones stay
// in use (tool 0 is not a tool id REST takes).
func disableEvenTools(tools int) []string {
	var disable []string
	for id := 2; id < tools; id += 2 {
		payload, _ := json.Marshal(map[string]any{"event": "tool_disabled", "tool_id": id, "tool_name": fmt.Sprintf("Tool %d", id),
			"usage_id": 1, "user_name": "Test User", "end_time": time.Now().UTC().Format(time.RFC3339)})
		envelope, _ := json.Marshal(map[string]any{"topic": fmt.Sprintf("nemo/tools/%d/disabled", id), "payload": string(payload),
			"qos": 1, "retain": false, "timestamp": float64(time.Now().UnixMicro()) / 1e6})
		disable = append(disable, string(envelope))
	}
	return disable
}

// waitForOddToolsInUse waits until the gateway's REST says tools 1 to
// tools-1 are in use when odd and not when even.
func waitForOddToolsInUse(t *testing.T, gatewayHTTP string, tools int) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		for id := 1; id < tools; id++ {
			var tool struct {
				InUse bool `json:"in_use"`
			}
			if code := getJSON(t, fmt.Sprintf("http://%s/v1/tools/%d", gatewayHTTP, id), &tool); code != http.StatusOK {
				return fmt.Errorf("GET /v1/tools/%d: %d", id, code)
			}
			if want := id%2 == 1; tool.InUse != want {
				return fmt.Errorf("GET /v1/tools/%d: in_use %v, want %v", id, tool.InUse, want)
			}
		}
		return nil
	})
}
