package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// startLikeALab starts the bridge as a lab switching from the plugin's own
// bridge runs it: reading the plugin's list, with the displays profile in
// a lab's time zone, and the gateway; base is the gateway's REST address.
func startLikeALab(t *testing.T) (*harness.Pipeline, string) {
	t.Helper()
	p := startPipeline(t, harness.PipelineOptions{
		Ingest: []string{"-ingest-mode", "list"},
		Router: []string{"-displays", "-display-timezone", "America/Los_Angeles"},
	})
	gw, err := p.StartGateway()
	if err != nil {
		t.Fatal(err)
	}
	return p, "http://" + gw.HTTPAddr
}

type dryRunAnswer struct {
	Messages []struct {
		Topic       string `json:"topic"`
		PayloadText string `json:"payload_text"`
		QoS         uint32 `json:"qos"`
		Retain      bool   `json:"retain"`
	} `json:"messages"`
	MatchedRules []string `json:"matched_rules"`
	Error        string   `json:"error"`
}

// postDryRun posts body to POST /v1/rules:dryRun unchanged, as a person
// pasting an entry of the plugin's list would.
func postDryRun(t *testing.T, base, body string) dryRunAnswer {
	t.Helper()
	resp, err := http.Post(base+"/v1/rules:dryRun", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/rules:dryRun %s: %d %s", body, resp.StatusCode, raw)
	}
	var a dryRunAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	return a
}

// The plugin's list entry, exactly as the plugin writes it (payload a JSON
// string, non-ASCII escaped by json.dumps), posted to the dry run, gives
// the messages the pipeline then really publishes for the same entry:
// same topics, payloads, QoS and retain, in the same order.
func TestDryRunRoutesThePluginsEntryAsThePipelineDoes(t *testing.T) {
	t.Parallel()
	p, base := startLikeALab(t)
	entry := harness.PluginEntry("nemo/tools/12/enabled", harness.Dict(
		"event", "tool_enabled", "tool_id", 12, "tool_name", "Évaporateur Plassys",
		"usage_id", 901, "user_name", "Élodie Rousseau (erousseau)",
		"start_time", "2026-11-30T20:18:05.123456+00:00",
	), 2, false, 1764533885.123456)

	dry := postDryRun(t, base, entry)
	if dry.Error != "" || !slices.Contains(dry.MatchedRules, "plugin-topics") {
		t.Fatalf("dry run of the plugin's entry: error %q, matched %v; want the plugin's topic rule", dry.Error, dry.MatchedRules)
	}
	first := dry.Messages[0]
	if first.Topic != "nemo/tools/12/enabled" || first.QoS != 2 || first.Retain {
		t.Fatalf("dry run's first message %+v, want nemo/tools/12/enabled at the entry's QoS 2, not retained", first)
	}
	var payload map[string]any
	if err := json.Unmarshal([]byte(first.PayloadText), &payload); err != nil || payload["user_name"] != "Élodie Rousseau (erousseau)" {
		t.Fatalf("dry run's payload %s (%v): want the plugin's payload object, decoded, not the string re-quoted", first.PayloadText, err)
	}

	sub := subscribe(t, p, "nemo/#")
	if err := harness.LPush(ctx(t), p.Redis.Client(1), "nemo_mqtt_events", []string{entry}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range dry.Messages {
		// The subscriber holds QoS 1, so it gets at most that; the broker
		// does not pass retain on to a live subscriber.
		want = append(want, fmt.Sprintf("%s qos=%d %s", m.Topic, min(m.QoS, 1), normalJSON([]byte(m.PayloadText))))
	}
	var got []string
	err := sub.WaitFor(10*time.Second, func(msgs []harness.Message) (bool, string) {
		got = got[:0]
		for _, m := range msgs {
			if m.Topic == "nemo/tools/12/status" || strings.HasPrefix(m.Topic, "nemo/bridge/") {
				continue // the tool's state snapshot and the bridge's own status, which the dry run leaves out
			}
			got = append(got, fmt.Sprintf("%s qos=%d %s", m.Topic, m.QoS, normalJSON(m.Payload)))
		}
		return len(got) >= len(want), strings.Join(got, "\n")
	})
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("published:\n%s\ndry run said:\n%s\n(%v)", strings.Join(got, "\n"), strings.Join(want, "\n"), err)
	}

	// An entry the pipeline would refuse is refused with the dead letter's
	// code and reason.
	refused := postDryRun(t, base, `{"topic": "nemo/tools/12/enabled", "payload": "{\"event\": \"tool_enabled\"}", "qos": 3}`)
	if !strings.HasPrefix(refused.Error, "invalid_qos: ") || len(refused.Messages) != 0 {
		t.Fatalf("dry run of qos 3: %+v, want invalid_qos and no messages", refused)
	}

	// Every request body has a limit: 2 MiB is refused as too large (413),
	// saying the limit.
	huge := `{"topic": "nemo/tools/12/enabled", "payload": "` + strings.Repeat("x", 2<<20) + `"}`
	resp, err := http.Post(base+"/v1/rules:dryRun", "application/json", strings.NewReader(huge))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), "1 MiB") {
		t.Fatalf("a 2 MiB body: %d %s, want 413 saying the 1 MiB limit", resp.StatusCode, raw)
	}
}
