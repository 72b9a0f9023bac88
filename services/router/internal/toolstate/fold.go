// Package toolstate keeps the current state of every tool, derived from
// NEMO's events, in Redis so that it survives restarts.
package toolstate

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/loosejson"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// fields are an event's decoded payload fields, read loosely.
type fields payload.Fields

func (f fields) has(key string) bool            { return payload.Fields(f).Has(key) }
func (f fields) raw(key string) json.RawMessage { return payload.Fields(f).Get(key) }
func (f fields) str(key string) (string, bool)  { return loosejson.String(f.raw(key)) }

// int, flag and time answer a field the event does not have at once: the
// loose readers would find nothing in it either, after a failed parse
// in every form they know (each an allocated error), and an event looks
// for several times (see eventTime) that it rarely has.
func (f fields) int(key string) (int32, bool) {
	if raw := f.raw(key); len(raw) > 0 {
		return payload.ID(raw)
	}
	return 0, false
}

func (f fields) flag(key string) bool {
	if raw := f.raw(key); len(raw) > 0 {
		b, _ := loosejson.Bool(raw)
		return b
	}
	return false
}

func (f fields) time(key string) (time.Time, bool) {
	if raw := f.raw(key); len(raw) > 0 {
		return loosejson.Time(raw)
	}
	return time.Time{}, false
}

// Fold returns the state of the tool after ev, or false when ev says
// nothing about a tool or is older than what prev already reflects. now is
// the time by Redis's clock, against which prev's position is judged (see
// applies).
func Fold(prev *statusv1.Tool, ev *bridgev1.Event, now time.Time) (*statusv1.Tool, bool) {
	if ev.ToolId == nil {
		return nil, false
	}
	p := fields(ev.GetFields())
	seq := Sequence(ev)
	if prev != nil && !applies(prev.GetSequence(), seq, now) {
		return nil, false
	}
	t := &statusv1.Tool{Id: ev.GetToolId(), Operational: true}
	if site := ev.GetSite(); site != "" {
		t.Site = &site
	}
	if prev != nil {
		t = proto.Clone(prev).(*statusv1.Tool)
	}
	event := ev.GetEventType()
	if name, ok := p.str("tool_name"); ok && name != "" {
		t.Name = name
	}
	switch event {
	case "tool_enabled", "tool_usage_start":
		// Today's plugin sends tool_enabled when a usage starts (and
		// tool_usage_start beside it): both mean someone uses the tool.
		startUsage(t, p)
	case "tool_disabled", "tool_usage_end":
		endUsage(t, p)
	case "tool_operational":
		t.Operational = true
	case "tool_non_operational":
		t.Operational = false
	case "tool_created", "tool_updated":
		// Here "tool_status" is the operational flag (and "timestamp" is
		// a boolean, not a time). NEMO saves the tool, and so sends this,
		// after every change of the flag: it has the last word.
		if op, ok := loosejson.Bool(p.raw("tool_status")); ok {
			t.Operational = op
		}
	case "task_created", "task_updated", "task_shutdown":
		foldTask(t, event, p)
	}
	derive(t)
	t.LastEvent = event
	t.LastEventAt = eventTime(ev, p)
	t.Sequence = seq
	return t, true
}

// startUsage records a usage that starts: each start says who, which
// usage and since when anew, so nothing of an earlier usage is carried.
func startUsage(t *statusv1.Tool, p fields) {
	t.InUse = true
	t.User, _ = p.str("user_name")
	if t.User != "" {
		t.LastUser = t.User
	}
	t.UsageId = 0
	if usage, ok := p.int("usage_id"); ok {
		t.UsageId = usage
	}
	t.InUseSince = nil
	if since, ok := p.time("start_time"); ok {
		t.InUseSince = timestamppb.New(since)
	}
}

// endUsage records the end of the usage: nobody uses the tool, so user is
// cleared and the name stays in last_user.
func endUsage(t *statusv1.Tool, p fields) {
	stopUsing(t)
	if name, ok := p.str("user_name"); ok && name != "" {
		t.LastUser = name
	}
	if usage, ok := p.int("usage_id"); ok {
		t.UsageId = usage
	}
}

// foldTask opens, updates or closes one task, and sets the operational
// flag as NEMO does (views/tasks.py, views/tool_control.py):
//   - creating a task with force_shutdown shuts the tool down and ends the
//     usage in progress (each usage with its own save, which the plugin
//     reports as tool_disabled just after the task; the fold ends it
//     here already, so that no state names a user of a tool shut down,
//     also when that event is lost or late);
//   - after a task is updated, cancelled or resolved, NEMO's
//     determine_tool_status makes the tool operational exactly when no
//     open task has force_shutdown.
//
// Only the payload's force_shutdown says a task shuts the tool down: the
// plugin names a task event task_shutdown for a safety hazard too, which
// shuts nothing down unless NEMO's site option does so (and then NEMO
// sends tool_updated with tool_status false). task_shutdown does not say
// whether the task was created or updated; it is read as a creation, so
// a safety hazard alone leaves the flag as it is.
//
// An update keeps the task's place among the open ones (oldest first, so
// the last is the newest) and what the event does not say again.
func foldTask(t *statusv1.Tool, event string, p fields) {
	id, ok := p.int("task_id")
	if !ok {
		return
	}
	at := slices.IndexFunc(t.OpenTasks, func(x *statusv1.Task) bool { return x.GetId() == id })
	if p.flag("cancelled") || p.flag("resolved") {
		if at >= 0 {
			t.OpenTasks = slices.Delete(t.OpenTasks, at, at+1)
		}
		t.Operational = !forcesShutdown(t)
		return
	}
	task := &statusv1.Task{Id: id}
	if at >= 0 {
		task = proto.Clone(t.OpenTasks[at]).(*statusv1.Task)
	}
	if p.has("force_shutdown") || at < 0 {
		task.ForceShutdown = p.flag("force_shutdown")
	}
	if p.has("safety_hazard") || at < 0 {
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
	switch {
	case event == "task_updated":
		t.Operational = !forcesShutdown(t)
	case task.ForceShutdown:
		t.Operational = false
	}
	// A shutdown task seen for the first time was just created (or its
	// creation was missed): NEMO ended the usage then (see above).
	if at < 0 && task.ForceShutdown {
		stopUsing(t)
	}
}

// stopUsing says nobody uses the tool; last_user keeps who did.
func stopUsing(t *statusv1.Tool) {
	t.InUse = false
	t.InUseSince = nil
	t.User = ""
}

// forcesShutdown tells whether an open task has force_shutdown.
func forcesShutdown(t *statusv1.Tool) bool {
	return slices.ContainsFunc(t.OpenTasks, (*statusv1.Task).GetForceShutdown)
}

// derive sets the fields that follow from the others, after every event,
// so that they cannot disagree with them. shutdown is "not operational
// while an open task has force_shutdown": a tool made operational again in
// NEMO (tool_updated, tool_operational) is not shut down, whatever tasks
// are open, so operational and shutdown are never both true.
func derive(t *statusv1.Tool) {
	t.Problematic = len(t.OpenTasks) > 0
	t.Shutdown = !t.Operational && forcesShutdown(t)
	t.ProblemDescriptions = nil
	for _, task := range t.OpenTasks {
		// An empty one is a task whose description no event has told.
		if d := task.GetProblemDescription(); d != "" {
			t.ProblemDescriptions = append(t.ProblemDescriptions, d)
		}
	}
	t.CustomerName, t.CurrentUsageId, t.CurrentUsageStart = nil, nil, nil
	if !t.InUse {
		return
	}
	if t.User != "" {
		t.CustomerName = wrapperspb.String(customerName(t.User))
	}
	if t.UsageId != 0 {
		t.CurrentUsageId = wrapperspb.Int32(t.UsageId)
	}
	if t.InUseSince != nil {
		t.CurrentUsageStart = timestamppb.New(t.InUseSince.AsTime())
	}
}

// customerName is a user as NEMO's API names the customer: the plugin
// writes NEMO's full name, "Alice Martin (amartin)", and the API the name
// alone, "Alice Martin". Only the last parenthesis goes: "Li (Lily) Wu
// (lwu)" is "Li (Lily) Wu".
func customerName(user string) string {
	name := strings.TrimSpace(user)
	if !strings.HasSuffix(name, ")") {
		return name
	}
	if open := strings.LastIndex(name, " ("); open > 0 {
		return strings.TrimSpace(name[:open])
	}
	return name
}

func eventTime(ev *bridgev1.Event, p fields) *timestamppb.Timestamp {
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
