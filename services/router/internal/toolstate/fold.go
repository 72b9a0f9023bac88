// Package toolstate keeps the current state of every tool, derived from
// NEMO's events, in Redis so that it survives restarts.
package toolstate

import (
	"encoding/json"
	"slices"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/loosejson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// payload is an event's payload, each field kept raw for loose reading.
type payload map[string]json.RawMessage

// int reads an id; NEMO's ids are 32-bit.
func (p payload) int(key string) (int32, bool) {
	n, ok := loosejson.Int(p[key])
	return int32(n), ok && n == int64(int32(n))
}
func (p payload) str(key string) (string, bool)     { return loosejson.String(p[key]) }
func (p payload) flag(key string) bool              { b, _ := loosejson.Bool(p[key]); return b }
func (p payload) time(key string) (time.Time, bool) { return loosejson.Time(p[key]) }

// ToolID is the tool an event is about, if any.
func ToolID(ev *bridgev1.Event) (int32, bool) {
	var p payload
	if json.Unmarshal(ev.GetPayload(), &p) != nil {
		return 0, false
	}
	return p.int("tool_id")
}

// Fold returns the state of the tool after ev, or false when ev says
// nothing about a tool or is older than what prev already reflects.
func Fold(prev *statusv1.Tool, ev *bridgev1.Event) (*statusv1.Tool, bool) {
	var p payload
	if json.Unmarshal(ev.GetPayload(), &p) != nil {
		return nil, false
	}
	id, ok := p.int("tool_id")
	if !ok {
		return nil, false
	}
	seq := Sequence(ev)
	if prev != nil && !applies(prev.GetSequence(), seq) {
		return nil, false
	}
	t := &statusv1.Tool{Id: id, Operational: true}
	if prev != nil {
		t = proto.Clone(prev).(*statusv1.Tool)
	}
	event, _ := p.str("event")
	if name, ok := p.str("tool_name"); ok && name != "" {
		t.Name = name
	}
	switch event {
	case "tool_enabled", "tool_usage_start":
		t.InUse = true
		setUser(t, p)
		if since, ok := p.time("start_time"); ok {
			t.InUseSince = timestamppb.New(since)
		}
	case "tool_disabled", "tool_usage_end":
		t.InUse = false
		t.InUseSince = nil
		setUser(t, p)
	case "tool_operational":
		t.Operational = true
	case "tool_non_operational":
		t.Operational = false
	case "tool_created", "tool_updated":
		// Here "tool_status" is the operational flag (and "timestamp" is
		// a boolean, not a time).
		if op, ok := loosejson.Bool(p["tool_status"]); ok {
			t.Operational = op
		}
	case "task_created", "task_updated", "task_shutdown":
		foldTask(t, event, p)
	}
	t.LastEvent = event
	t.LastEventAt = eventTime(ev, p)
	t.Sequence = seq
	return t, true
}

func setUser(t *statusv1.Tool, p payload) {
	if name, ok := p.str("user_name"); ok && name != "" {
		t.User = name
	}
	if usage, ok := p.int("usage_id"); ok {
		t.UsageId = usage
	}
}

// foldTask opens, updates or closes one task; a cancelled or resolved task
// is no longer open. An update keeps the task's place among the open ones
// (oldest first, so the last is the newest) and what the event does not
// say again; task_shutdown is a shutdown even without force_shutdown.
func foldTask(t *statusv1.Tool, event string, p payload) {
	id, ok := p.int("task_id")
	if !ok {
		return
	}
	at := slices.IndexFunc(t.OpenTasks, func(x *statusv1.Task) bool { return x.GetId() == id })
	switch {
	case p.flag("cancelled") || p.flag("resolved"):
		if at >= 0 {
			t.OpenTasks = slices.Delete(t.OpenTasks, at, at+1)
		}
	default:
		task := &statusv1.Task{Id: id}
		if at >= 0 {
			task = proto.Clone(t.OpenTasks[at]).(*statusv1.Task)
		}
		if _, ok := p["force_shutdown"]; ok || at < 0 {
			task.ForceShutdown = p.flag("force_shutdown")
		}
		if event == "task_shutdown" {
			task.ForceShutdown = true
		}
		if _, ok := p["safety_hazard"]; ok || at < 0 {
			task.SafetyHazard = p.flag("safety_hazard")
		}
		if d, ok := p.str("problem_description"); ok {
			task.ProblemDescription = d
		}
		if created, ok := p.time("created_at"); ok {
			task.CreatedAt = timestamppb.New(created)
		}
		if at >= 0 {
			t.OpenTasks[at] = task
		} else {
			t.OpenTasks = append(t.OpenTasks, task)
		}
		if task.ForceShutdown {
			t.Operational = false
		}
	}
	t.Problematic = len(t.OpenTasks) > 0
	t.Shutdown = slices.ContainsFunc(t.OpenTasks, (*statusv1.Task).GetForceShutdown)
}

func eventTime(ev *bridgev1.Event, p payload) *timestamppb.Timestamp {
	if ev.GetWrittenAt() != nil {
		return ev.GetWrittenAt()
	}
	for _, key := range []string{"timestamp", "updated_at", "end_time", "start_time", "created_at"} {
		if t, ok := p.time(key); ok {
			return timestamppb.New(t)
		}
	}
	return ev.GetReadAt()
}
