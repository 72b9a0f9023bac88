package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Each case's rules publish the event on "hit" when the condition holds,
// and "miss" otherwise.
func TestMatchConditions(t *testing.T) {
	const enabled = `{"event":"tool_enabled","tool_id":12,"tool_name":"Furnace","user_name":"Ada (Staff)","force_shutdown":true,"tool":{"kind":"cleanroom","bay":{"id":"3"}},"tool_status":false,"user_id":null}`
	for _, tc := range []struct {
		name, match, topic, payload string
		hit                         bool
	}{
		{"event one name", `event: tool_enabled`, "nemo/tools/12/enabled", enabled, true},
		{"event list", `event: [tool_disabled, tool_enabled]`, "nemo/tools/12/enabled", enabled, true},
		{"event other", `event: [tool_disabled]`, "nemo/tools/12/enabled", enabled, false},
		{"event absent", `event: tool_enabled`, "t", `{"tool_id":12}`, false},
		{"tool_id number", `tool_id: 12`, "t", enabled, true},
		{"tool_id as string in payload", `tool_id: 12`, "t", `{"tool_id":"12"}`, true},
		{"tool_id string in rule", `tool_id: "12"`, "t", enabled, true},
		{"tool_id range", `tool_id: [1, "10-20"]`, "t", enabled, true},
		{"tool_id range ends are inclusive", `tool_id: ["12-12"]`, "t", enabled, true},
		{"tool_id range below", `tool_id: ["13-20"]`, "t", enabled, false},
		{"tool_id absent", `tool_id: 12`, "t", `{"event":"x"}`, false},
		{"tool_id not a number", `tool_id: 12`, "t", `{"tool_id":"twelve"}`, false},
		{"tool_id as 12.0", `tool_id: 12`, "t", `{"tool_id":12.0}`, true},
		{"tool_id padded", `tool_id: 12`, "t", `{"tool_id":" 12 "}`, true},
		{"tool_id not whole", `tool_id: 12`, "t", `{"tool_id":12.5}`, false},
		{"topic exact", `topic: nemo/tools/12/enabled`, "nemo/tools/12/enabled", enabled, true},
		{"topic plus", `topic: nemo/tools/+/enabled`, "nemo/tools/12/enabled", enabled, true},
		{"topic plus is one level", `topic: nemo/+/enabled`, "nemo/tools/12/enabled", enabled, false},
		{"topic hash", `topic: nemo/#`, "nemo/tools/12/enabled", enabled, true},
		{"topic hash matches the parent", `topic: nemo/tools/#`, "nemo/tools", enabled, true},
		{"topic list", `topic: [a/b, nemo/tools/+/+]`, "nemo/tools/12/enabled", enabled, true},
		{"topic other", `topic: nemo/areas/#`, "nemo/tools/12/enabled", enabled, false},
		{"topic is matched made safe", `topic: "nemo/tools/R_D _1/start"`, "nemo/tools/R+D #1/start", enabled, true},
		{"topic that cannot be published", `topic: "#"`, "", enabled, false},
		{"fields equals bool", `fields: {force_shutdown: {equals: true}}`, "t", enabled, true},
		{"fields equals bool differs", `fields: {force_shutdown: {equals: false}}`, "t", enabled, false},
		{"fields equals bool as string", `fields: {force_shutdown: {equals: true}}`, "t", `{"force_shutdown":"true"}`, true},
		{"fields equals string", `fields: {tool_name: {equals: Furnace}}`, "t", enabled, true},
		{"fields equals number as string", `fields: {tool_id: {equals: "12"}}`, "t", enabled, true},
		{"fields equals number", `fields: {tool_id: {equals: 12.0}}`, "t", `{"tool_id":"12"}`, true},
		{"fields equals null", `fields: {user_id: {equals: null}}`, "t", enabled, true},
		{"fields equals object never", `fields: {tool: {equals: "{}"}}`, "t", enabled, false},
		{"fields equals absent", `fields: {nope: {equals: null}}`, "t", enabled, false},
		{"fields dotted", `fields: {tool.kind: {equals: cleanroom}}`, "t", enabled, true},
		{"fields dotted deeper", `fields: {tool.bay.id: {equals: 3}}`, "t", enabled, true},
		{"fields dotted through a non-object", `fields: {tool_name.x: {exists: false}}`, "t", enabled, true},
		{"fields exists", `fields: {user_name: {exists: true}}`, "t", enabled, true},
		{"fields exists null is absent", `fields: {user_id: {exists: true}}`, "t", enabled, false},
		{"fields exists false", `fields: {nope: {exists: false}}`, "t", enabled, true},
		{"fields in", `fields: {tool_status: {in: [true, false]}}`, "t", enabled, true},
		{"fields in other", `fields: {tool_name: {in: [Oven, Etcher]}}`, "t", enabled, false},
		{"fields all must hold", `fields: {tool_name: {equals: Furnace}, user_name: {exists: false}}`, "t", enabled, false},
		{"fields on plain text", `fields: {nope: {exists: false}}`, "t", "plain text", false},
		{"every condition holds", `event: tool_enabled, tool_id: "10-20", topic: "nemo/#", fields: {user_name: {exists: true}}`, "nemo/tools/12/enabled", enabled, true},
		{"one condition fails", `event: tool_enabled, tool_id: "10-20", topic: "other/#"`, "nemo/tools/12/enabled", enabled, false},
		{"empty match is every event", ``, "t", "plain text", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, "rules:\n  - name: r\n    match: {"+tc.match+"}\n    publish: [{topic: hit}]\n  - name: rest\n    publish: [{topic: miss}]\n")
			msgs, _, err := s.Apply(event(tc.topic, tc.payload), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"miss"}
			if tc.hit {
				want = []string{"hit"}
			}
			if diff := cmp.Diff(want, topics(msgs)); diff != "" {
				t.Errorf("topics (-want +got):\n%s", diff)
			}
		})
	}
}
