package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// publishOf is a message carrying p as its payload.
func publishOf(t *testing.T, p probe) *paho.Publish {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return &paho.Publish{QoS: 1, Payload: b}
}

// A message that says when its burst was handed over is timed from then,
// and from its own publish call beside it; one that does not is timed from
// its publish call alone.
func TestLatencyCountsFromTheBurstsHandOverWhereTheProbeSaysIt(t *testing.T) {
	c := newCollector()
	now := time.Now()
	c.receive(publishOf(t, probe{ToolID: 1, Seq: 1, BurstNS: now.Add(-3 * time.Second).UnixNano(), SentNS: now.Add(-time.Second).UnixNano()}))
	if len(c.latencies) != 1 || c.latencies[0] < 3*time.Second || c.latencies[0] > 4*time.Second {
		t.Fatalf("latencies %v, want one of about 3s, from the burst's hand-over", c.latencies)
	}
	if len(c.fromCall) != 1 || c.fromCall[0] < time.Second || c.fromCall[0] > 2*time.Second {
		t.Fatalf("from the publish call %v, want one of about 1s", c.fromCall)
	}

	c.reset()
	c.receive(publishOf(t, probe{ToolID: 1, Seq: 2, SentNS: now.Add(-time.Second).UnixNano()}))
	if len(c.latencies) != 1 || c.latencies[0] < time.Second || c.latencies[0] > 2*time.Second {
		t.Fatalf("latencies %v, want one of about 1s, from the publish call", c.latencies)
	}
	if len(c.fromCall) != 0 {
		t.Fatalf("from the publish call %v for a probe without its burst's time, want none", c.fromCall)
	}
}

// In the latency phase every payload says when its burst was handed over;
// elsewhere none does, and the payload is as it was.
func TestPayloadCarriesItsBurstOnlyWhenGiven(t *testing.T) {
	var with, without probe
	if err := json.Unmarshal(workload{}.payload(3, 4, 200, 100), &with); err != nil {
		t.Fatal(err)
	}
	if with.BurstNS != 100 || with.SentNS != 200 {
		t.Fatalf("probe %+v, want burst 100 and sent 200", with)
	}
	plain := workload{}.payload(3, 4, 200, 0)
	if err := json.Unmarshal(plain, &without); err != nil {
		t.Fatal(err)
	}
	if without.BurstNS != 0 || string(plain) != `{"tool_id":3,"seq":4,"sent_ns":200}` {
		t.Fatalf("payload %s, want no burst time in it", plain)
	}
}
