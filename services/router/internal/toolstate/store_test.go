package toolstate

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// Doc gives the state Apply saved as Redis holds it, byte for byte, and
// nothing for a state it did not save.
func TestDocIsWhatApplySaved(t *testing.T) {
	rdb := redistest.Start(t)
	ctx := context.Background()
	s, err := Open(ctx, rdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ev := &bridgev1.Event{Id: "1-0", Sequence: "1-0", Topic: "nemo/tools/7/enabled", Payload: []byte(`{"event":"tool_enabled","tool_id":7,"user_name":"Ann"}`)}
	payload.Decode(ev)
	states, err := s.Apply(ctx, []*bridgev1.Event{ev})
	if err != nil || states[0] == nil {
		t.Fatalf("Apply: %v, %v", states, err)
	}
	held, err := rdb.HGet(ctx, records.Tools, "7").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Doc(states[0]); string(got) != held {
		t.Errorf("Doc = %s, Redis holds %s", got, held)
	}
	if got := s.Doc(proto.Clone(states[0]).(*statusv1.Tool)); got != nil {
		t.Errorf("Doc of a state Apply did not save: %s", got)
	}
}

// The sequences an earlier version kept under their old name (before
// they took the tools hash's Redis Cluster hash slot) are carried over at
// Open, so they keep guarding against older events delivered again.
func TestOpenCarriesTheOldSequencesOver(t *testing.T) {
	rdb := redistest.Start(t)
	ctx := context.Background()
	if err := rdb.HSet(ctx, records.OldToolSequences, "7", "1-5").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, rdb, time.Now); err != nil {
		t.Fatal(err)
	}
	if got := rdb.HGet(ctx, records.ToolSequences, "7").Val(); got != "1-5" || rdb.Exists(ctx, records.OldToolSequences).Val() != 0 {
		t.Fatalf("after Open: %s holds %q, the old name exists: %d", records.ToolSequences, got, rdb.Exists(ctx, records.OldToolSequences).Val())
	}
}
