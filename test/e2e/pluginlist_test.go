package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// A lab on an older plugin (NEMO_mqtt_events) starts the bridge with the
// default list: ingest reads nothing, so at start it says where the events
// are and which setting reads them; that setting does. With nothing in
// either list, it says nothing.
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
}
