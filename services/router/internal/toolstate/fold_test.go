package toolstate

import (
	"testing"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/google/go-cmp/cmp"
)

func event(seq, payload string) *bridgev1.Event {
	return &bridgev1.Event{Id: seq, Sequence: seq, Payload: []byte(payload)}
}

func fold(t *testing.T, evs ...*bridgev1.Event) *statusv1.Tool {
	t.Helper()
	var state *statusv1.Tool
	for _, ev := range evs {
		if next, ok := Fold(state, ev); ok {
			state = next
		}
	}
	return state
}

func TestUsageStartAndEnd(t *testing.T) {
	start := time.Date(2026, 11, 24, 10, 3, 0, 0, time.UTC)
	got := fold(t,
		event("1-0", `{"event":"tool_enabled","tool_id":12,"tool_name":"Raith EBPG","usage_id":77,"user_name":"Alice Martin","start_time":"2026-11-24T10:03:00Z"}`),
	)
	want := &statusv1.Tool{
		Id: 12, Name: "Raith EBPG", InUse: true, User: "Alice Martin", UsageId: 77, Operational: true,
		InUseSince: timestamppb.New(start), LastEvent: "tool_enabled", LastEventAt: timestamppb.New(start),
		Sequence: "s:00000000000000000001-00000000000000000000",
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("after tool_enabled (-want +got):\n%s", d)
	}
	got = fold(t,
		event("1-0", `{"event":"tool_enabled","tool_id":12,"usage_id":77,"user_name":"Alice Martin"}`),
		event("2-0", `{"event":"tool_disabled","tool_id":"12","usage_id":77,"user_name":"Alice Martin","end_time":1764000000}`),
	)
	if got.GetInUse() || got.GetInUseSince() != nil || got.GetUser() != "Alice Martin" {
		t.Errorf("after tool_disabled: in use %v since %v user %q; want free, last user kept", got.GetInUse(), got.GetInUseSince(), got.GetUser())
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
		if _, ok := Fold(nil, event("1-0", p)); ok {
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

func TestTaskShutdownEventIsAShutdown(t *testing.T) {
	got := fold(t, event("1-0", `{"event":"task_shutdown","task_id":6,"tool_id":3}`))
	if !got.GetShutdown() || got.GetOperational() || !got.GetOpenTasks()[0].GetForceShutdown() {
		t.Fatalf("%v", got)
	}
}
