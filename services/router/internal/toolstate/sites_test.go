package toolstate

import (
	"context"
	"strings"
	"testing"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// Tool 12 of the default site, of north and of south are three tools:
// each has its own state in its own hash, the named sites are recorded
// with their topic prefixes, and a router started later loads them all.
func TestEachSiteKeepsItsOwnTools(t *testing.T) {
	rdb := redistest.Start(t)
	ctx := context.Background()
	s, err := Open(ctx, rdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	event := func(id, site, user string) *bridgev1.Event {
		ev := &bridgev1.Event{Id: id, Sequence: id, Topic: "nemo/tools/12/enabled", Payload: []byte(`{"event":"tool_enabled","tool_id":12,"user_name":"` + user + `"}`)}
		payload.Decode(ev)
		if site != "" {
			payload.SetSite(ev, payload.Site{Name: site, TopicPrefix: site + "/"})
		}
		return ev
	}
	evs := []*bridgev1.Event{event("1-0", "", "Ann"), event("1-0", "north", "Bo"), event("2-0", "south", "Cy")}
	states, err := s.Apply(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ site, user, hash string }{{"", "Ann", records.Tools}, {"north", "Bo", "nemo:bridge:tools:site:north"}, {"south", "Cy", "nemo:bridge:tools:site:south"}} {
		if states[i] == nil || states[i].GetUser() != want.user || states[i].GetSite() != want.site {
			t.Fatalf("state after event %d: %v; want %s's tool 12 in use by %s", i, states[i], want.site, want.user)
		}
		doc := rdb.HGet(ctx, want.hash, "12").Val()
		if !strings.Contains(doc, `"user":"`+want.user+`"`) {
			t.Errorf("%s holds %s; want %s's tool 12", want.hash, doc, want.user)
		}
		if strings.Contains(doc, `"site"`) != (want.site != "") {
			t.Errorf("%s holds %s: a named site's state says its site, the default site's none", want.hash, doc)
		}
	}
	if got := rdb.HGetAll(ctx, records.Sites).Val(); len(got) != 2 || got["north"] != "north/" || got["south"] != "south/" {
		t.Errorf("%s = %v; want north and south with their prefixes", records.Sites, got)
	}
	// An older event of north's tool 12 is older only for north: the
	// default site's tool 12 state is newer, which must not matter.
	older := event("0-5", "north", "Old")
	if states, err := s.Apply(ctx, []*bridgev1.Event{older}); err != nil || states[0] != nil {
		t.Errorf("an older event of north's tool 12 changed its state: %v, %v", states, err)
	}

	again, err := Open(ctx, rdb, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for site, user := range map[string]string{"": "Ann", "north": "Bo", "south": "Cy"} {
		if got := again.Current(Key{site, 12}); got.GetUser() != user || got.GetSite() != site {
			t.Errorf("after a restart, %q's tool 12: %v; want in use by %s", site, got, user)
		}
	}
}
