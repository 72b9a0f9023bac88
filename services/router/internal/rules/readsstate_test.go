package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// readsStateCases are rules files, one source of a payload at a time, and
// whether they read the tool's state.
var readsStateCases = []struct {
	name  string
	rules string
	reads bool
}{
	{"passed on", `rules: [{name: r, publish: [{topic: "{prefix}{topic}"}]}]`, false},
	{"field filter", `rules: [{name: r, publish: [{topic: "t/{tool_id}", keep: [user, tool_id]}]}]`, false},
	{"literal", `rules: [{name: r, publish: [{topic: t, payload: {a: 1, b: "x"}}]}]`, false},
	{"text", `rules: [{name: r, publish: [{topic: t, payload: {a: "Tool {tool_id} {payload.user}"}}]}]`, false},
	{"field", `rules: [{name: r, publish: [{topic: t, payload: {a: {field: user}}}]}]`, false},
	{"time", `rules: [{name: r, publish: [{topic: t, payload: {a: {time: [start_time], format: display}, b: {time: [start_time], format: iso}}}]}]`, false},
	{"map of a field", `rules: [{name: r, publish: [{topic: t, payload: {a: {map: event, values: {tool_enabled: on}, default: off}}}]}]`, false},
	{"shortened field", `rules: [{name: r, publish: [{topic: t, payload: {a: {field: user, max_chars: 3}}}]}]`, false},
	{"state", `rules: [{name: r, publish: [{topic: t, payload: {a: {state: in_use}}}]}]`, true},
	{"state as a default", `rules: [{name: r, publish: [{topic: t, payload: {a: {field: tool_name, default: {state: name}}}}]}]`, true},
	{"person", `rules: [{name: r, publish: [{topic: t, payload: {a: {person: user}}}]}]`, true},
	{"tasks", `rules: [{name: r, publish: [{topic: t, payload: {a: {tasks: {id: {task: id}}}}}]}]`, true},
	{"task count", `rules: [{name: r, publish: [{topic: t, payload: {a: {task_count: open}}}]}]`, true},
	{"about an open task", `rules: [{name: r, publish: [{topic: t, about: open_task, payload: {a: {task: id}}}]}]`, true},
	{"a later rule reads it", `rules: [{name: a, continue: true, publish: [{topic: t}]}, {name: b, publish: [{topic: u, payload: {a: {state: user}}}]}]`, true},
}

func TestReadsStateSaysWhichRulesReadTheToolState(t *testing.T) {
	for _, c := range readsStateCases {
		t.Run(c.name, func(t *testing.T) {
			if got := mustParse(t, c.rules).ReadsState(); got != c.reads {
				t.Errorf("ReadsState() = %v, want %v", got, c.reads)
			}
		})
	}
	if Default().ReadsState() {
		t.Error("the built-in rules read the tool state: every event would wait for it to be saved")
	}
	if !Displays().ReadsState() || !Default().Alongside(Displays()).ReadsState() {
		t.Error("the displays profile reads the tool state (user_name, tool_name), but ReadsState says it does not")
	}
}

// What the router relies on to send messages before the state is saved:
// rules that read no state make the same messages of an event whatever
// the state, or none.
func TestRulesThatReadNoStateMakeTheSameMessagesWithout(t *testing.T) {
	state := &statusv1.Tool{
		Id: 7, Name: "Saved name", InUse: true, User: "Ada (Ada) Lovelace (ada)", LastUser: "Grace Hopper (gh)", Operational: false,
		OpenTasks: []*statusv1.Task{{Id: 3, ProblemDescription: "Pump is loud", ForceShutdown: true}},
	}
	events := []*bridgev1.Event{
		event("nemo/tools/7/enabled", `{"event":"tool_enabled","tool_id":7,"tool_name":"Etcher","user":"Li (Lily) Wu (lwu)","start_time":"2026-11-04T09:03:00Z"}`),
		event("nemo/tools/7/disabled", `{"event":"tool_disabled","tool_id":7}`),
		event("nemo/tools/Etcher/start", `{"event":"tool_usage_start","tool_id":7,"tool_name":"Etcher","user_name":"Li Wu"}`),
		event("nemo/tools/7/tasks", `{"event":"task_created","tool_id":7,"task_id":3,"problem":"Pump"}`),
	}
	sets := []*Set{Default()}
	for _, c := range readsStateCases {
		if !c.reads {
			sets = append(sets, mustParse(t, c.rules))
		}
	}
	for _, set := range sets {
		if set.ReadsState() {
			t.Fatalf("set %v reads the state; only those that read none belong here", set.Names())
		}
		for _, ev := range events {
			without, _, errWithout := set.Apply(ev, nil)
			with, _, errWith := set.Apply(ev, state)
			if (errWithout == nil) != (errWith == nil) {
				t.Errorf("rules %v, %s: error %v without the state, %v with it", set.Names(), ev.GetTopic(), errWithout, errWith)
			}
			if diff := cmp.Diff(with, without, protocmp.Transform()); diff != "" {
				t.Errorf("rules %v, %s: the messages depend on the state (-with +without):\n%s", set.Names(), ev.GetTopic(), diff)
			}
		}
	}
}
