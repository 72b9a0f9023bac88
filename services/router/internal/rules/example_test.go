package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExampleFile checks that testdata/example.yaml does what its comments
// say, so that users copying from it copy something that works.
func TestExampleFile(t *testing.T) {
	s, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type out struct {
		Topic   string
		Payload string
		Qos     uint32
		Retain  bool
		Expiry  uint32
	}
	for _, tc := range []struct {
		name, topic, payload string
		want                 []out
		matched              []string
	}{
		{"display state, then the usual topic", "nemo/tools/25/enabled",
			`{"event":"tool_enabled","tool_id":25,"tool_name":"Etcher","usage_id":1,"user_name":"Ada","start_time":"x"}`,
			[]out{
				{"site1/displays/25/tool_enabled", `{"event":"tool_enabled","tool_id":25,"tool_name":"Etcher","user_name":"Ada"}`, 1, true, 86400},
				{"site1/nemo/tools/25/enabled", `{"event":"tool_enabled","tool_id":25,"tool_name":"Etcher","usage_id":1,"user_name":"Ada","start_time":"x"}`, 1, false, 0},
			},
			[]string{"display-state", "everything-else"}},
		{"a tool without a display", "nemo/tools/31/enabled", `{"event":"tool_enabled","tool_id":31}`,
			[]out{{"site1/nemo/tools/31/enabled", `{"event":"tool_enabled","tool_id":31}`, 1, false, 0}},
			[]string{"everything-else"}},
		{"shutdown alarm", "nemo/tools/12/tasks", `{"event":"task_shutdown","task_id":4,"tool_id":12,"tool_name":"Big/Furnace","force_shutdown":true,"created_by":"Bob"}`,
			[]out{
				{"site1/alarms/Big_Furnace/4", `{"event":"task_shutdown","task_id":4,"tool_id":12,"tool_name":"Big/Furnace","force_shutdown":true}`, 2, false, 0},
				{"site1/nemo/tools/12/tasks", `{"event":"task_shutdown","task_id":4,"tool_id":12,"tool_name":"Big/Furnace","force_shutdown":true,"created_by":"Bob"}`, 1, false, 0},
			},
			[]string{"shutdown-alarm", "everything-else"}},
		{"reservations dropped", "nemo/reservations/8", `{"event":"reservation_created"}`, nil, []string{"no-reservations"}},
		{"usage by user", "nemo/tools/Wet Bench/start", `{"event":"tool_usage_start","tool_name":"Wet Bench","user_name":"Ada Lovelace","tool":{"kind":"wet lab"}}`,
			[]out{
				{"site1/users/Ada Lovelace/Wet Bench", `{"event":"tool_usage_start","tool_name":"Wet Bench","user_name":"Ada Lovelace","tool":{"kind":"wet lab"}}`, 1, false, 0},
				{"site1/nemo/tools/Wet Bench/start", `{"event":"tool_usage_start","tool_name":"Wet Bench","user_name":"Ada Lovelace","tool":{"kind":"wet lab"}}`, 1, false, 0},
			},
			[]string{"usage-by-user"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, matched, err := s.Apply(event(tc.topic, tc.payload), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []out
			for _, m := range msgs {
				got = append(got, out{m.GetTopic(), string(m.GetPayload()), m.GetQos(), m.GetRetain(), m.GetExpirySeconds()})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.matched, matched); diff != "" {
				t.Errorf("matched (-want +got):\n%s", diff)
			}
		})
	}
}
