package toolstate

import (
	"fmt"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"math/rand/v2"
	"testing"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/google/go-cmp/cmp"
)

// event is an event as ingest hands it over, its payload decoded.
func event(seq, body string) *bridgev1.Event {
	ev := &bridgev1.Event{Id: seq, Sequence: seq, Payload: []byte(body)}
	payload.Decode(ev)
	return ev
}

func fold(t *testing.T, evs ...*bridgev1.Event) *statusv1.Tool {
	t.Helper()
	var state *statusv1.Tool
	for _, ev := range evs {
		if next, ok := Fold(state, ev, time.Now()); ok {
			state = next
		}
	}
	return state
}

func TestUsageStartAndEnd(t *testing.T) {
	start := time.Date(2026, 11, 24, 10, 3, 0, 0, time.UTC)
	got := fold(t,
		event("1-0", `{"event":"tool_enabled","tool_id":12,"tool_name":"Raith EBPG","usage_id":77,"user_name":"Alice Martin (amartin)","start_time":"2026-11-24T10:03:00Z"}`),
	)
	want := &statusv1.Tool{
		Id: 12, Name: "Raith EBPG", InUse: true, User: "Alice Martin (amartin)", LastUser: "Alice Martin (amartin)", UsageId: 77, Operational: true,
		InUseSince: timestamppb.New(start), LastEvent: "tool_enabled", LastEventAt: timestamppb.New(start),
		Sequence:     "s:00000000000000000001-00000000000000000000",
		CustomerName: wrapperspb.String("Alice Martin"), CurrentUsageId: wrapperspb.Int32(77), CurrentUsageStart: timestamppb.New(start),
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("after tool_enabled (-want +got):\n%s", d)
	}
	got = fold(t,
		event("1-0", `{"event":"tool_enabled","tool_id":12,"tool_name":"Raith EBPG","usage_id":77,"user_name":"Alice Martin (amartin)","start_time":"2026-11-24T10:03:00Z"}`),
		event("2-0", `{"event":"tool_disabled","tool_id":12,"tool_name":"Raith EBPG","usage_id":77,"user_name":"Alice Martin (amartin)","end_time":"2026-11-24T11:03:00Z"}`),
	)
	want = &statusv1.Tool{
		Id: 12, Name: "Raith EBPG", LastUser: "Alice Martin (amartin)", UsageId: 77, Operational: true,
		LastEvent: "tool_disabled", LastEventAt: timestamppb.New(start.Add(time.Hour)),
		Sequence: "s:00000000000000000002-00000000000000000000",
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("after tool_disabled: nobody uses it, the last user is kept (-want +got):\n%s", d)
	}
	// The legacy pair says the same.
	got = fold(t,
		event("1-0", `{"event":"tool_usage_start","usage_id":78,"user_id":3,"user_name":"Bob Li (bli)","tool_id":12,"tool_name":"Raith EBPG","start_time":"2026-11-24T12:00:00+00:00","end_time":null,"timestamp":false}`),
		event("2-0", `{"event":"tool_usage_end","usage_id":78,"user_id":3,"user_name":"Bob Li (bli)","tool_id":12,"tool_name":"Raith EBPG","start_time":"2026-11-24T12:00:00+00:00","end_time":"2026-11-24T12:30:00+00:00","timestamp":false}`),
	)
	if got.GetInUse() || got.GetUser() != "" || got.GetLastUser() != "Bob Li (bli)" || got.CustomerName != nil || got.CurrentUsageId != nil {
		t.Errorf("after tool_usage_end: %v", got)
	}
}

// What NEMO's /api/tool_status/ calls customer_name: the name without
// the username NEMO's full name ends with.
func TestCustomerName(t *testing.T) {
	for user, want := range map[string]string{
		"Alice Martin (amartin)": "Alice Martin",
		"Alice Martin":           "Alice Martin",
		"Li (Lily) Wu (lwu)":     "Li (Lily) Wu",
		" Bob Li (bli) ":         "Bob Li",
		"(nobody)":               "(nobody)",
	} {
		if got := customerName(user); got != want {
			t.Errorf("customerName(%q) = %q, want %q", user, got, want)
		}
	}
}

func TestTasksOpenCloseAndShutdown(t *testing.T) {
	got := fold(t,
		event("1-0", `{"event":"task_created","task_id":5,"tool_id":3,"problem_description":"Chamber leak","force_shutdown":false}`),
		event("2-0", `{"event":"task_shutdown","task_id":6,"tool_id":3,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":true}`),
	)
	if !got.GetProblematic() || !got.GetShutdown() || got.GetOperational() || len(got.GetOpenTasks()) != 2 {
		t.Fatalf("two tasks, one shutdown: %v", got)
	}
	got = fold(t,
		event("1-0", `{"event":"task_created","task_id":5,"tool_id":3,"problem_description":"Chamber leak"}`),
		event("2-0", `{"event":"task_shutdown","task_id":6,"tool_id":3,"force_shutdown":true}`),
		event("3-0", `{"event":"task_updated","task_id":6,"tool_id":3,"cancelled":true}`),
		event("4-0", `{"event":"tool_operational","tool_id":3}`),
	)
	if !got.GetProblematic() || got.GetShutdown() || !got.GetOperational() || len(got.GetOpenTasks()) != 1 || got.GetOpenTasks()[0].GetId() != 5 {
		t.Fatalf("after cancelling the shutdown: %v", got)
	}
	got = fold(t,
		event("1-0", `{"event":"task_created","task_id":5,"tool_id":3}`),
		event("2-0", `{"event":"task_updated","task_id":5,"tool_id":3,"resolved":"true"}`),
	)
	if got.GetProblematic() || len(got.GetOpenTasks()) != 0 {
		t.Fatalf("after resolving the only task: %v", got)
	}
}

func TestToolUpdatedReadsToolStatusAsOperational(t *testing.T) {
	got := fold(t, event("1-0", `{"event":"tool_updated","tool_id":9,"tool_name":"Heidelberg MLA150","tool_status":false,"timestamp":false}`))
	if got.GetOperational() || got.GetName() != "Heidelberg MLA150" {
		t.Fatalf("%v", got)
	}
}

func TestOlderRedeliveredEventIsIgnored(t *testing.T) {
	enabled := event("5-0", `{"event":"tool_enabled","tool_id":1,"user_name":"Bob"}`)
	disabled := event("6-0", `{"event":"tool_disabled","tool_id":1,"user_name":"Bob"}`)
	got := fold(t, enabled, disabled, enabled)
	if got.GetInUse() {
		t.Fatal("a redelivered older tool_enabled overwrote the newer tool_disabled")
	}
	// ids compare as numbers, not text: 10-0 is newer than 9-0
	got = fold(t, event("9-0", `{"event":"tool_enabled","tool_id":1}`), event("10-0", `{"event":"tool_disabled","tool_id":1}`))
	if got.GetInUse() {
		t.Fatal("10-0 was taken for older than 9-0")
	}
}

func TestEventsWithoutToolLeaveNoState(t *testing.T) {
	for _, p := range []string{`{"event":"reservation_created","id":4}`, `not json`, `{"event":"tool_enabled","tool_id":"abc"}`} {
		if _, ok := Fold(nil, event("1-0", p), time.Now()); ok {
			t.Errorf("state made from %s", p)
		}
	}
}

func TestUnknownEventStillRecordedAsLastEvent(t *testing.T) {
	got := fold(t, event("1-0", `{"event":"tool_calibrated","tool_id":4}`))
	if got.GetLastEvent() != "tool_calibrated" || !got.GetOperational() {
		t.Fatalf("%v", got)
	}
}

func TestTaskUpdateKeepsItsPlaceAndWhatItDoesNotRepeat(t *testing.T) {
	got := fold(t,
		event("1-0", `{"event":"task_created","task_id":5,"tool_id":3,"problem_description":"Chamber leak","safety_hazard":true,"created_at":"2026-11-24T10:00:00Z"}`),
		event("2-0", `{"event":"task_created","task_id":6,"tool_id":3,"problem_description":"Pump noise"}`),
		event("3-0", `{"event":"task_updated","task_id":5,"tool_id":3}`),
	)
	want := []*statusv1.Task{
		{Id: 5, ProblemDescription: "Chamber leak", SafetyHazard: true, CreatedAt: timestamppb.New(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))},
		{Id: 6, ProblemDescription: "Pump noise"},
	}
	if d := cmp.Diff(want, got.GetOpenTasks(), protocmp.Transform()); d != "" {
		t.Errorf("open tasks (-want +got):\n%s", d)
	}
}

func TestCancelledAndResolvedTasksLeaveTheOpenOnes(t *testing.T) {
	for _, closing := range []string{`"cancelled":true`, `"resolved":true`, `"cancelled":"True"`, `"resolved":1`} {
		got := fold(t,
			event("1-0", `{"event":"task_created","task_id":5,"tool_id":3,"problem_description":"a"}`),
			event("2-0", `{"event":"task_shutdown","task_id":6,"tool_id":3,"problem_description":"b"}`),
			event("3-0", `{"event":"task_created","task_id":7,"tool_id":3,"problem_description":"c"}`),
			event("4-0", `{"event":"task_updated","task_id":6,"tool_id":3,`+closing+`}`),
		)
		var ids []int32
		for _, task := range got.GetOpenTasks() {
			ids = append(ids, task.GetId())
		}
		if d := cmp.Diff([]int32{5, 7}, ids); d != "" || got.GetShutdown() || !got.GetProblematic() {
			t.Errorf("%s: open %v, shutdown %v, problematic %v", closing, ids, got.GetShutdown(), got.GetProblematic())
		}
	}
}

// The plugin names a task event task_shutdown for a safety hazard too;
// only the payload's force_shutdown shuts the tool down.
func TestSafetyHazardIsNotAShutdown(t *testing.T) {
	got := fold(t, event("1-0", `{"event":"task_shutdown","task_id":6,"tool_id":3,"problem_description":"Exposed wiring","force_shutdown":false,"safety_hazard":true,"cancelled":false,"resolved":false,"created_at":"2026-11-24T10:00:00Z","updated_at":"2026-11-24T10:00:00Z"}`))
	want := []*statusv1.Task{{Id: 6, ProblemDescription: "Exposed wiring", SafetyHazard: true, CreatedAt: timestamppb.New(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))}}
	if d := cmp.Diff(want, got.GetOpenTasks(), protocmp.Transform()); d != "" {
		t.Errorf("open tasks (-want +got):\n%s", d)
	}
	if !got.GetOperational() || got.GetShutdown() || !got.GetProblematic() {
		t.Errorf("operational %v, shutdown %v, problematic %v; want operational, not shut down, problematic", got.GetOperational(), got.GetShutdown(), got.GetProblematic())
	}
}

// Every way the tool becomes not operational has a way back, as NEMO
// has: a task with force_shutdown until no such task is open, and
// NEMO's own word (tool_operational, tool_updated's tool_status).
func TestEveryShutdownIsClearedAsNEMOClearsIt(t *testing.T) {
	const (
		leak     = `{"event":"task_created","task_id":4,"tool_id":3,"problem_description":"Chamber leak","force_shutdown":false,"safety_hazard":false,"cancelled":false,"resolved":false,"created_at":"2026-11-24T10:00:00Z","updated_at":"2026-11-24T10:00:00Z"}`
		pump     = `{"event":"task_shutdown","task_id":5,"tool_id":3,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":false,"cancelled":false,"resolved":false,"created_at":"2026-11-24T10:10:00Z","updated_at":"2026-11-24T10:10:00Z"}`
		smoke    = `{"event":"task_shutdown","task_id":6,"tool_id":3,"problem_description":"Smoke","force_shutdown":true,"safety_hazard":true,"cancelled":false,"resolved":false,"created_at":"2026-11-24T10:20:00Z","updated_at":"2026-11-24T10:20:00Z"}`
		pumpOff  = `{"event":"task_shutdown","task_id":5,"tool_id":3,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":false,"cancelled":true,"resolved":false,"created_at":"2026-11-24T10:10:00Z","updated_at":"2026-11-24T10:30:00Z"}`
		pumpDone = `{"event":"task_shutdown","task_id":5,"tool_id":3,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":false,"cancelled":false,"resolved":true,"created_at":"2026-11-24T10:10:00Z","updated_at":"2026-11-24T10:30:00Z"}`
		smokeOff = `{"event":"task_shutdown","task_id":6,"tool_id":3,"problem_description":"Smoke","force_shutdown":true,"safety_hazard":true,"cancelled":false,"resolved":true,"created_at":"2026-11-24T10:20:00Z","updated_at":"2026-11-24T10:40:00Z"}`
		leakEdit = `{"event":"task_updated","task_id":4,"tool_id":3,"problem_description":"Chamber leak, worse","force_shutdown":false,"safety_hazard":false,"cancelled":false,"resolved":false,"created_at":"2026-11-24T10:00:00Z","updated_at":"2026-11-24T10:50:00Z"}`
		down     = `{"event":"tool_non_operational","tool_id":3,"tool_name":"Furnace","timestamp":1764000000}`
		up       = `{"event":"tool_operational","tool_id":3,"tool_name":"Furnace","timestamp":1764000000}`
		saved    = `{"event":"tool_updated","tool_id":3,"tool_name":"Furnace","tool_status":%t,"timestamp":false}`
		created  = `{"event":"tool_created","tool_id":3,"tool_name":"Furnace","tool_status":%t,"timestamp":false}`
	)
	type after struct{ operational, shutdown bool }
	for _, tc := range []struct {
		name   string
		events []string
		want   []after // after each event
	}{
		{"shutdown task cancelled", []string{pump, pumpOff}, []after{{false, true}, {true, false}}},
		{"shutdown task resolved", []string{pump, pumpDone}, []after{{false, true}, {true, false}}},
		{"one of two shutdown tasks closed, then the other", []string{pump, smoke, pumpOff, smokeOff}, []after{{false, true}, {false, true}, {false, true}, {true, false}}},
		{"another problem updated while the shutdown task is open", []string{pump, leak, leakEdit}, []after{{false, true}, {false, true}, {false, true}}},
		{"non-operational, operational", []string{down, up}, []after{{false, false}, {true, false}}},
		{"tool saved not operational, then operational", []string{fmt.Sprintf(saved, false), fmt.Sprintf(saved, true)}, []after{{false, false}, {true, false}}},
		{"tool created not operational, then saved operational", []string{fmt.Sprintf(created, false), fmt.Sprintf(saved, true)}, []after{{false, false}, {true, false}}},
		{"re-enabled in NEMO with the shutdown task open", []string{pump, fmt.Sprintf(saved, true), pumpOff}, []after{{false, true}, {true, false}, {true, false}}},
		// determine_tool_status runs after any task update: with no
		// shutdown task open the tool is operational again.
		{"non-operational by hand, a task is created, then updated", []string{down, leak, leakEdit}, []after{{false, false}, {false, false}, {true, false}}},
	} {
		var state *statusv1.Tool
		for i, p := range tc.events {
			next, ok := Fold(state, event(fmt.Sprintf("%d-0", i+1), p), time.Now())
			if !ok {
				t.Fatalf("%s: event %d not folded", tc.name, i)
			}
			state = next
			if got := (after{state.GetOperational(), state.GetShutdown()}); got != tc.want[i] {
				t.Errorf("%s: after event %d (%s): operational %v shutdown %v, want %v %v", tc.name, i, state.GetLastEvent(), got.operational, got.shutdown, tc.want[i].operational, tc.want[i].shutdown)
			}
		}
	}
}

// NEMO ends the usage in progress when a task shuts the tool down, with
// an update that sends no event: the state ends it too.
func TestForceShutdownEndsTheUsage(t *testing.T) {
	got := fold(t,
		event("1-0", `{"event":"tool_enabled","tool_id":3,"tool_name":"Furnace","usage_id":9,"user_name":"Alice Martin (amartin)","start_time":"2026-11-24T10:00:00Z"}`),
		event("2-0", `{"event":"task_shutdown","task_id":5,"tool_id":3,"problem_description":"Pump failed","force_shutdown":true,"safety_hazard":false,"cancelled":false,"resolved":false,"created_at":"2026-11-24T10:10:00Z","updated_at":"2026-11-24T10:10:00Z"}`),
	)
	if got.GetInUse() || got.GetUser() != "" || got.GetLastUser() != "Alice Martin (amartin)" || got.CustomerName != nil || got.CurrentUsageId != nil || got.CurrentUsageStart != nil {
		t.Errorf("after a shutdown task: %v; want nobody using it, Alice Martin the last user", got)
	}
	got = fold(t,
		event("1-0", `{"event":"tool_enabled","tool_id":3,"tool_name":"Furnace","usage_id":9,"user_name":"Alice Martin (amartin)","start_time":"2026-11-24T10:00:00Z"}`),
		event("2-0", `{"event":"task_shutdown","task_id":6,"tool_id":3,"problem_description":"Exposed wiring","force_shutdown":false,"safety_hazard":true,"cancelled":false,"resolved":false,"created_at":"2026-11-24T10:10:00Z","updated_at":"2026-11-24T10:10:00Z"}`),
	)
	if !got.GetInUse() || got.GetCustomerName().GetValue() != "Alice Martin" {
		t.Errorf("after a safety hazard alone: %v; want Alice Martin still using it", got)
	}
}

// NEMO's own fields follow the usage and the open tasks.
func TestNEMOsToolStatusFields(t *testing.T) {
	got := fold(t,
		event("1-0", `{"event":"task_created","task_id":4,"tool_id":3,"problem_description":"Chamber leak","force_shutdown":false,"safety_hazard":false,"cancelled":false,"resolved":false}`),
		event("2-0", `{"event":"task_updated","task_id":9,"tool_id":3,"cancelled":false,"resolved":false}`),
		event("3-0", `{"event":"task_shutdown","task_id":6,"tool_id":3,"problem_description":"Exposed wiring","force_shutdown":false,"safety_hazard":true,"cancelled":false,"resolved":false}`),
	)
	if d := cmp.Diff([]string{"Chamber leak", "Exposed wiring"}, got.GetProblemDescriptions()); d != "" {
		t.Errorf("problem_descriptions (-want +got):\n%s", d)
	}
	got = fold(t,
		event("1-0", `{"event":"task_created","task_id":4,"tool_id":3,"problem_description":"Chamber leak"}`),
		event("2-0", `{"event":"task_updated","task_id":4,"tool_id":3,"cancelled":false,"resolved":true}`),
	)
	if got.GetProblemDescriptions() != nil {
		t.Errorf("problem_descriptions with no task open: %q", got.GetProblemDescriptions())
	}
	got = fold(t, event("1-0", `{"event":"tool_enabled","tool_id":3,"tool_name":"Saw","start_time":"2026-11-24T10:00:00Z"}`))
	if !got.GetInUse() || got.CustomerName != nil || got.CurrentUsageId != nil || got.GetCurrentUsageStart() == nil {
		t.Errorf("a usage without user or id: %v; want in use since its start, customer and usage unknown", got)
	}
}

// Whatever NEMO sends, in whatever order, the state never says a tool is
// operational and shut down at once, and its derived fields agree with
// the others.
func TestStateNeverContradictsItself(t *testing.T) {
	pool := []string{
		`{"event":"tool_enabled","tool_id":3,"tool_name":"Furnace","usage_id":9,"user_name":"Alice Martin (amartin)","start_time":"2026-11-24T10:00:00Z"}`,
		`{"event":"tool_disabled","tool_id":3,"tool_name":"Furnace","usage_id":9,"user_name":"Alice Martin (amartin)","end_time":"2026-11-24T11:00:00Z"}`,
		`{"event":"tool_usage_start","usage_id":10,"user_id":2,"user_name":"Bob Li (bli)","tool_id":3,"tool_name":"Furnace","start_time":"2026-11-24T12:00:00Z","end_time":null,"timestamp":false}`,
		`{"event":"tool_usage_end","usage_id":10,"user_id":2,"user_name":"Bob Li (bli)","tool_id":3,"tool_name":"Furnace","start_time":"2026-11-24T12:00:00Z","end_time":"2026-11-24T12:30:00Z","timestamp":false}`,
		`{"event":"tool_operational","tool_id":3,"tool_name":"Furnace","timestamp":1764000000}`,
		`{"event":"tool_non_operational","tool_id":3,"tool_name":"Furnace","timestamp":1764000000}`,
		`{"event":"tool_updated","tool_id":3,"tool_name":"Furnace","tool_status":true,"timestamp":false}`,
		`{"event":"tool_updated","tool_id":3,"tool_name":"Furnace","tool_status":false,"timestamp":false}`,
	}
	for id := 1; id <= 3; id++ {
		for _, kind := range []string{`"event":"task_created","force_shutdown":false,"safety_hazard":false`, `"event":"task_shutdown","force_shutdown":true,"safety_hazard":false`, `"event":"task_shutdown","force_shutdown":false,"safety_hazard":true`} {
			for _, closing := range []string{`"cancelled":false,"resolved":false`, `"cancelled":true,"resolved":false`, `"cancelled":false,"resolved":true`} {
				pool = append(pool, fmt.Sprintf(`{"task_id":%d,"tool_id":3,"problem_description":"Problem %d",%s,%s}`, id, id, kind, closing),
					fmt.Sprintf(`{"event":"task_updated","task_id":%d,"tool_id":3,"problem_description":"Problem %d",%s}`, id, id, closing))
			}
		}
	}
	rng := rand.New(rand.NewPCG(11, 1))
	for run := range 200 {
		var state *statusv1.Tool
		for i := range 30 {
			p := pool[rng.IntN(len(pool))]
			next, ok := Fold(state, event(fmt.Sprintf("%d-0", i+1), p), time.Now())
			if !ok {
				t.Fatalf("not folded: %s", p)
			}
			state = next
			open := false
			for _, task := range state.GetOpenTasks() {
				open = open || task.GetForceShutdown()
			}
			switch {
			case state.GetOperational() && state.GetShutdown():
				t.Fatalf("run %d, after %s: operational and shut down at once", run, p)
			case state.GetShutdown() != (!state.GetOperational() && open):
				t.Fatalf("run %d, after %s: shutdown %v, not operational %v, shutdown task open %v", run, p, state.GetShutdown(), !state.GetOperational(), open)
			case state.GetProblematic() != (len(state.GetOpenTasks()) > 0):
				t.Fatalf("run %d, after %s: problematic %v with %d open tasks", run, p, state.GetProblematic(), len(state.GetOpenTasks()))
			case !state.GetInUse() && (state.GetUser() != "" || state.CustomerName != nil || state.CurrentUsageId != nil || state.CurrentUsageStart != nil):
				t.Fatalf("run %d, after %s: nobody uses the tool, yet %v", run, p, state)
			case state.GetInUse() && state.GetCustomerName().GetValue() != customerName(state.GetUser()):
				t.Fatalf("run %d, after %s: customer_name %q for user %q", run, p, state.GetCustomerName().GetValue(), state.GetUser())
			}
		}
	}
}
