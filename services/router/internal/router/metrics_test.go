package router

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
)

// stageSamples is how many observations nemo_router_stage_seconds holds
// for stage in reg.
func stageSamples(t *testing.T, reg *prometheus.Registry, stage string) uint64 {
	t.Helper()
	return stageHistogram(t, reg, stage).GetSampleCount()
}

// stageSum is the sum of stage's observations in reg, in seconds.
func stageSum(t *testing.T, reg *prometheus.Registry, stage string) float64 {
	t.Helper()
	return stageHistogram(t, reg, stage).GetSampleSum()
}

// stageHistogram is nemo_router_stage_seconds for stage in reg, nil
// (no observations) when it has none.
func stageHistogram(t *testing.T, reg *prometheus.Registry, stage string) *dto.Histogram {
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
					return m.GetHistogram()
				}
			}
		}
	}
	return nil
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
	if n := stageSamples(t, reg, "transit"); n != 0 {
		t.Errorf("transit: %d observations of a request that carries no sent_at (an older ingest's), want none", n)
	}
}

// A Route request stamped by ingest is observed in the transit stage once
// per event it carries, from its stamp: the hop the stages inside the
// services leave out.
func TestTransitIsObservedForEachEventOfAStampedRequest(t *testing.T) {
	reg := prometheus.NewRegistry()
	rdb := startRedis(t)
	client, _ := routeServerMetrics(t, newTestBook(t, rulesFile(t, rulesV2), ""), newStateKeeper(rdb, "nemo:events", testLog(t)), reg)
	stream, err := client.Route(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sent := timestamppb.New(time.Now().Add(-30 * time.Millisecond))
	if err := stream.Send(&routerv1.RouteRequest{SentAt: sent, Events: []*bridgev1.Event{
		toolEvent("1-0", "1-0", "tool_enabled"), toolEvent("2-0", "2-0", "tool_disabled"),
	}}); err != nil {
		t.Fatal(err)
	}
	for acks := 0; acks < 2; {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		acks += len(resp.GetAcks())
	}
	if n := stageSamples(t, reg, "transit"); n != 2 {
		t.Errorf("transit: %d observations, want one for each of the 2 events", n)
	}
	if sum := stageSum(t, reg, "transit"); sum < 0.060 {
		t.Errorf("transit: %.4fs in all, want at least the 2 × 30 ms since the stamp", sum)
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
