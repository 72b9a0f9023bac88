package toolstate

import (
	"context"
	"fmt"
	"strings"
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

// One batch writes every site's tools with one script call per site, and
// each tool gets its own answer: where Redis holds a newer state (another
// router saved it), that tool keeps Redis's state and its event yields no
// state; the batch's other tools, of either site, are saved.
func TestABatchSavesEachToolUnlessRedisHoldsANewerState(t *testing.T) {
	rdb := redistest.Start(t)
	ctx := context.Background()
	s, err := Open(ctx, rdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	event := func(id string, tool int, site, user string) *bridgev1.Event {
		ev := &bridgev1.Event{Id: id, Sequence: id, Topic: fmt.Sprintf("nemo/tools/%d/enabled", tool),
			Payload: fmt.Appendf(nil, `{"event":"tool_enabled","tool_id":%d,"user_name":%q}`, tool, user)}
		payload.Decode(ev)
		if site != "" {
			payload.SetSite(ev, payload.Site{Name: site, TopicPrefix: site + "/"})
		}
		return ev
	}
	// Another router saved newer states of the default site's tool 2 and
	// of north's tool 3.
	for _, held := range []struct {
		site string
		tool int32
	}{{"", 2}, {"north", 3}} {
		doc, err := records.MarshalTool(&statusv1.Tool{Id: held.tool, User: "Newer", Sequence: Sequence(event("9-0", int(held.tool), "", ""))})
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprint(held.tool)
		rdb.HSet(ctx, records.SiteTools(held.site), id, doc)
		rdb.HSet(ctx, records.SiteToolSequences(held.site), id, Sequence(event("9-0", int(held.tool), "", "")))
	}
	evs := []*bridgev1.Event{
		event("5-0", 1, "", "Ann"), event("5-1", 2, "", "Bo"), event("5-2", 3, "", "Cy"),
		event("5-3", 1, "north", "Di"), event("5-4", 3, "north", "Ed"),
	}
	states, err := s.Apply(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		site    string
		tool    int
		saved   bool
		holding string
	}{{"", 1, true, "Ann"}, {"", 2, false, "Newer"}, {"", 3, true, "Cy"}, {"north", 1, true, "Di"}, {"north", 3, false, "Newer"}} {
		if (states[i] != nil) != want.saved {
			t.Errorf("event %d (%q tool %d): state %v; want saved=%v", i, want.site, want.tool, states[i], want.saved)
		}
		doc := rdb.HGet(ctx, records.SiteTools(want.site), fmt.Sprint(want.tool)).Val()
		if !strings.Contains(doc, `"user":"`+want.holding+`"`) {
			t.Errorf("%q tool %d: Redis holds %s; want the state of %s", want.site, want.tool, doc, want.holding)
		}
		if cur := s.Current(Key{want.site, int32(want.tool)}); cur.GetUser() != want.holding {
			t.Errorf("%q tool %d: the router holds %v; want the state of %s", want.site, want.tool, cur, want.holding)
		}
	}
}
