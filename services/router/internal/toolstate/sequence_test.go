package toolstate

import (
	"fmt"
	"testing"
	"time"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/streamid"
)

// A state's sequence ahead of any real event's (forged, or from a clock far
// ahead) orders nothing, so that it cannot keep real events out for good;
// one within the slack still does.
func TestStaleSequenceOrdersNothing(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 3, 0, 0, time.UTC)
	stream := func(d time.Duration) string { return streamSequence(streamid.ID{Ms: uint64(now.Add(d).UnixMilli())}) }
	written := func(d time.Duration) string { return fmt.Sprintf("t:%020d", now.Add(d).UnixNano()) }
	for _, c := range []struct {
		name      string
		prev, seq string
		applies   bool
	}{
		{"stream id an hour ahead", stream(time.Hour), stream(-time.Minute), true},
		{"largest stream id", streamSequence(streamid.ID{Ms: 1<<64 - 1, Seq: 1<<64 - 1}), stream(-time.Minute), true},
		{"stream id within the slack", stream(StreamSlack / 2), stream(-time.Minute), false},
		{"stream id just past the slack", stream(StreamSlack + time.Millisecond), stream(-time.Minute), true},
		{"written an hour ahead", written(time.Hour), written(-time.Minute), true},
		{"written a minute ahead (NEMO's clock)", written(time.Minute), written(-time.Minute), false},
		{"real and newer", stream(-time.Second), stream(-time.Minute), false},
	} {
		if got := applies(c.prev, c.seq, now); got != c.applies {
			t.Errorf("%s: applies = %v, want %v", c.name, got, c.applies)
		}
	}
	prev := &statusv1.Tool{Id: 12, Sequence: stream(time.Hour)}
	next, ok := Fold(prev, event("1-0", `{"event":"tool_enabled","tool_id":12,"user_name":"Ann"}`), now)
	if !ok || !next.GetInUse() || next.GetSequence() != "s:00000000000000000001-00000000000000000000" {
		t.Fatalf("a state poisoned by a sequence an hour ahead kept a real event out: %v", next)
	}
}

// Sequences are compared as strings, in Redis too, with those the router
// wrote before: their form must not change.
func TestSequencesKeepTheirForm(t *testing.T) {
	for _, id := range []streamid.ID{{}, {Ms: 1, Seq: 2}, {Ms: 1764672000123, Seq: 7}, {Ms: 1<<64 - 1, Seq: 1<<64 - 1}} {
		if got, want := streamSequence(id), fmt.Sprintf("s:%020d-%020d", id.Ms, id.Seq); got != want {
			t.Errorf("streamSequence(%v) = %q, want %q", id, got, want)
		}
	}
	for _, ns := range []int64{0, 1, 1764672000123456789, -1, -1764672000123456789, 1<<63 - 1, -1 << 63} {
		if got, want := writtenSequence(time.Unix(0, ns)), fmt.Sprintf("t:%020d", ns); got != want {
			t.Errorf("writtenSequence(%d) = %q, want %q", ns, got, want)
		}
	}
}
