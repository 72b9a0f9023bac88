package router

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

// stageSamples is how many observations nemo_router_stage_seconds holds
// for stage in reg.
func stageSamples(t *testing.T, reg *prometheus.Registry, stage string) uint64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "nemo_router_stage_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "stage" && l.GetValue() == stage {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

// A routed batch is observed once per event in each stage: route for
// every event, publish for those answered once the publisher settled
// their messages (not the filtered one, answered at once).
func TestStageHistogramsObserveRoutedEvents(t *testing.T) {
	reg := prometheus.NewRegistry()
	rdb := startRedis(t)
	client, _ := routeServerMetrics(t, newTestBook(t, rulesFile(t, rulesV2), ""), newStateKeeper(rdb, "nemo:events", testLog(t)), reg)
	got := route(t, client,
		toolEvent("1-0", "1-0", "tool_enabled"),
		toolEvent("2-0", "2-0", "tool_disabled"),
		&bridgev1.Event{Id: "3-0", Topic: "nemo/reservations/31", Payload: []byte(`{"event":"reservation_created"}`)},
	)
	wantAck(t, got, "1-0", bridgev1.Outcome_OUTCOME_DELIVERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
	wantAck(t, got, "3-0", bridgev1.Outcome_OUTCOME_FILTERED, bridgev1.Cause_CAUSE_UNSPECIFIED)
	if n := stageSamples(t, reg, "route"); n != 3 {
		t.Errorf("route: %d observations, want 3", n)
	}
	if n := stageSamples(t, reg, "publish"); n != 2 {
		t.Errorf("publish: %d observations, want 2", n)
	}
}

// The shard gauge follows each shard's stream.
func TestShardGaugeFollowsEachShardsStream(t *testing.T) {
	reg := prometheus.NewRegistry()
	set := newShardGauge(reg)
	set("0", true)
	set("1", true)
	set("1", false)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()+"/"+m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	if want := map[string]float64{"nemo_router_publisher_shard_connected/0": 1, "nemo_router_publisher_shard_connected/1": 0}; len(got) != 2 || got["nemo_router_publisher_shard_connected/0"] != 1 || got["nemo_router_publisher_shard_connected/1"] != 0 {
		t.Errorf("gauge = %v, want %v", got, want)
	}
}
