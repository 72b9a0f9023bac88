package records

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// escapes has every kind of character protojson treats apart: quotes,
// backslashes, each control character, DEL, HTML's specials, the JS line
// separators, other non-ASCII text, and a valid U+FFFD.
var escapes = func() string {
	var s strings.Builder
	for c := range 0x20 {
		s.WriteByte(byte(c))
	}
	s.WriteString("\"\\/\x7f<>&\u2028\u2029é日本🙂\uFFFD end")
	return s.String()
}()

// fullTool has every field set.
func fullTool() *statusv1.Tool {
	return &statusv1.Tool{
		Id:          -7,
		Name:        "Fiji E-beam",
		InUse:       true,
		User:        "Alice Martin (amartin)",
		InUseSince:  &timestamppb.Timestamp{Seconds: 1796141705, Nanos: 123000000},
		UsageId:     2147483647,
		Operational: false,
		Problematic: true,
		Shutdown:    true,
		OpenTasks: []*statusv1.Task{
			{Id: 1, ProblemDescription: "door <stuck>", ForceShutdown: true, SafetyHazard: true,
				CreatedAt: &timestamppb.Timestamp{Seconds: 1, Nanos: 1}},
			{Id: -2147483648},
		},
		LastEvent:           "tool_disabled",
		LastEventAt:         &timestamppb.Timestamp{Seconds: 1796141705, Nanos: 123456000},
		Sequence:            "s:00000001796141705251-00000000000000000005",
		CustomerName:        wrapperspb.String("Alice Martin"),
		CurrentUsageId:      wrapperspb.Int32(-1),
		CurrentUsageStart:   &timestamppb.Timestamp{Seconds: -1, Nanos: 999999999},
		ProblemDescriptions: []string{"door <stuck>", "", escapes},
		LastUser:            "Alice Martin (amartin)",
		Site:                proto.String("north"),
	}
}

// withUnknown is m with an unknown field 99 set.
func withUnknown[M proto.Message](m M) M {
	m.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
	return m
}

func ts(secs int64, nanos int32) *timestamppb.Timestamp {
	return &timestamppb.Timestamp{Seconds: secs, Nanos: nanos}
}

// sameAsProtojson fails the test unless MarshalTool writes for tool
// what marshalToolProtojson writes, or fails as it does.
func sameAsProtojson(t *testing.T, tool *statusv1.Tool) {
	t.Helper()
	want, wantErr := marshalToolProtojson(tool)
	got, gotErr := MarshalTool(tool)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !bytes.Equal(got, want) {
		t.Fatalf("MarshalTool(%v)\n got %q, %v\nwant %q, %v", tool, got, gotErr, want, wantErr)
	}
}

func TestMarshalToolMatchesProtojson(t *testing.T) {
	edit := func(f func(*statusv1.Tool)) *statusv1.Tool {
		tool := fullTool()
		f(tool)
		return tool
	}
	// The encoder writes these itself.
	fast := map[string]*statusv1.Tool{
		"typical":              typicalTool(),
		"full":                 fullTool(),
		"empty":                {},
		"site empty":           {Site: proto.String("")},
		"no site":              edit(func(x *statusv1.Tool) { x.Site = nil }),
		"empty wrappers":       {CustomerName: wrapperspb.String(""), CurrentUsageId: wrapperspb.Int32(0)},
		"empty lists":          {OpenTasks: []*statusv1.Task{}, ProblemDescriptions: []string{}},
		"empty task":           {OpenTasks: []*statusv1.Task{{}}},
		"empty string in list": {ProblemDescriptions: []string{""}},
		"escapes everywhere": {
			Name: escapes, User: escapes, LastEvent: escapes, Sequence: escapes,
			CustomerName: wrapperspb.String(escapes), ProblemDescriptions: []string{escapes, escapes},
			LastUser: escapes, Site: proto.String(escapes),
			OpenTasks: []*statusv1.Task{{ProblemDescription: escapes}},
		},
		"nanos 0":      {InUseSince: ts(1796141705, 0)},
		"nanos 3":      {InUseSince: ts(1796141705, 100000000)},
		"nanos 6":      {InUseSince: ts(1796141705, 1000)},
		"nanos 9":      {InUseSince: ts(1796141705, 1)},
		"nanos max":    {InUseSince: ts(1796141705, 999999999)},
		"epoch":        {InUseSince: ts(0, 0)},
		"before epoch": {InUseSince: ts(-1, 500000000)},
		"leap day":     {InUseSince: ts(951782400, 0)},
		"first second": {InUseSince: ts(-62135596800, 0)},
		"last second":  {InUseSince: ts(253402300799, 999999999)},
	}
	// These it leaves to protojson: the bytes or the error are its.
	fallback := map[string]*statusv1.Tool{
		"nil":                 nil,
		"seconds too small":   {LastEventAt: ts(-62135596801, 0)},
		"seconds too large":   {LastEventAt: ts(253402300800, 0)},
		"nanos negative":      {CurrentUsageStart: ts(10, -1)},
		"nanos a second":      {CurrentUsageStart: ts(253402300799, 1000000000)},
		"nanos too large":     {CurrentUsageStart: ts(10, 2000000000)},
		"task nanos invalid":  {OpenTasks: []*statusv1.Task{{CreatedAt: ts(0, -5)}}},
		"nil task":            {OpenTasks: []*statusv1.Task{nil}},
		"invalid UTF-8":       {Name: "a\xffb"},
		"surrogate":           {User: "\xed\xa0\x80"},
		"truncated rune":      {LastUser: "日"[:2]},
		"invalid customer":    {CustomerName: wrapperspb.String("\xc0\xaf")},
		"invalid site":        {Site: proto.String("\x80")},
		"invalid description": {ProblemDescriptions: []string{"ok", "\xfe"}},
		"invalid task":        {OpenTasks: []*statusv1.Task{{ProblemDescription: "\xff"}}},
		"unknown field":       withUnknown(fullTool()),
		"unknown in task":     {OpenTasks: []*statusv1.Task{withUnknown(&statusv1.Task{})}},
		"unknown in time":     {LastEventAt: withUnknown(ts(1, 0))},
		"unknown in string":   {CustomerName: withUnknown(wrapperspb.String("x"))},
		"unknown in int":      {CurrentUsageId: withUnknown(wrapperspb.Int32(1))},
	}
	for name, tool := range fast {
		t.Run(name, func(t *testing.T) {
			if _, ok := appendTool(nil, tool); !ok {
				t.Error("left to protojson")
			}
			sameAsProtojson(t, tool)
		})
	}
	for name, tool := range fallback {
		t.Run(name, func(t *testing.T) {
			if _, ok := appendTool(nil, tool); ok {
				t.Error("not left to protojson")
			}
			sameAsProtojson(t, tool)
		})
	}
}

func TestMarshalToolTypicalBytes(t *testing.T) {
	const want = `{"id":3,"name":"","in_use":true,"user":"Ann","in_use_since":null,"usage_id":0,"operational":true,"problematic":false,"shutdown":false,"open_tasks":[],"last_event":"tool_enabled","last_event_at":null,"sequence":"s:00000001796141705251-00000000000000000005","customer_name":"Ann","current_usage_id":null,"current_usage_start":null,"problem_descriptions":[],"last_user":"Ann"}`
	got, err := MarshalTool(typicalTool())
	if err != nil || string(got) != want {
		t.Fatalf("got %s, %v\nwant %s", got, err, want)
	}
}

// The fuzzer builds a tool from its inputs: presence bits say which
// optional parts are there, and the timestamps are derived from secs and
// nanos so that each of them sees valid and invalid values.
const (
	fuzzInUseSince = 1 << iota
	fuzzLastEventAt
	fuzzCurrentUsageStart
	fuzzCustomerName
	fuzzCurrentUsageID
	fuzzSite
	fuzzTask
	fuzzTaskCreatedAt
	fuzzNilTask
	fuzzDescriptions
	fuzzUnknown
	fuzzFlags
)

func FuzzMarshalToolMatchesProtojson(f *testing.F) {
	f.Add(uint16(0), int32(3), int32(0), "", "Ann", "tool_enabled", "s:1-5", "Ann", "north", int64(1796141705), int32(0))
	f.Add(uint16(0xffff), int32(-1), int32(1), escapes, "\xff", "<&>", "\u2028", "", "", int64(-62135596800), int32(999999999))
	f.Add(uint16(fuzzInUseSince|fuzzTask|fuzzTaskCreatedAt), int32(0), int32(0), "a", "b", "c", "d", "e", "f", int64(253402300799), int32(1000))
	f.Add(uint16(fuzzLastEventAt), int32(0), int32(0), "", "", "", "", "", "", int64(253402300800), int32(-1))
	f.Fuzz(func(t *testing.T, flags uint16, id, usage int32, name, user, event, seq, customer, site string, secs int64, nanos int32) {
		has := func(bit uint16) bool { return flags&bit != 0 }
		tool := &statusv1.Tool{
			Id: id, Name: name, User: user, UsageId: usage, LastEvent: event,
			Sequence: seq, LastUser: customer + user,
			InUse:       has(fuzzFlags),
			Operational: has(fuzzFlags << 1),
			Problematic: has(fuzzFlags << 2),
			Shutdown:    has(fuzzFlags << 3),
		}
		if has(fuzzInUseSince) {
			tool.InUseSince = ts(secs, nanos)
		}
		if has(fuzzLastEventAt) {
			tool.LastEventAt = ts(secs/1000, nanos/1000)
		}
		if has(fuzzCurrentUsageStart) {
			tool.CurrentUsageStart = ts(-secs, nanos%1_000_000*1000)
		}
		if has(fuzzCustomerName) {
			tool.CustomerName = wrapperspb.String(customer)
		}
		if has(fuzzCurrentUsageID) {
			tool.CurrentUsageId = wrapperspb.Int32(id ^ usage)
		}
		if has(fuzzSite) {
			tool.Site = proto.String(site)
		}
		if has(fuzzTask) {
			task := &statusv1.Task{Id: usage, ProblemDescription: site, ForceShutdown: has(fuzzFlags), SafetyHazard: has(fuzzFlags << 1)}
			if has(fuzzTaskCreatedAt) {
				task.CreatedAt = ts(secs, nanos/1_000_000*1_000_000)
			}
			tool.OpenTasks = append(tool.OpenTasks, task, &statusv1.Task{})
		}
		if has(fuzzNilTask) {
			tool.OpenTasks = append(tool.OpenTasks, nil)
		}
		if has(fuzzDescriptions) {
			tool.ProblemDescriptions = []string{name, "", site}
		}
		if has(fuzzUnknown) {
			withUnknown(tool)
		}
		sameAsProtojson(t, tool)
	})
}

// Every field of Tool and Task, each set to a value of its kind, is
// written as protojson writes it: a field added to the proto later fails
// here until appendTool writes it too.
func TestMarshalToolWritesEveryFieldOfTheProto(t *testing.T) {
	tool := &statusv1.Tool{}
	fill(tool.ProtoReflect())
	want, err := marshalToolProtojson(tool)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := appendTool(nil, tool)
	if !ok || string(got) != string(want) {
		t.Errorf("appendTool (ok %v) wrote\n%s\nprotojson writes\n%s", ok, got, want)
	}
}

// fill sets every field of m, nested messages and lists included, to a
// value that is not its default.
func fill(m protoreflect.Message) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fd.IsList():
			list := m.Mutable(fd).List()
			if fd.Kind() == protoreflect.MessageKind {
				e := list.NewElement()
				fill(e.Message())
				list.Append(e)
			} else {
				list.Append(scalar(fd))
			}
		case fd.Kind() == protoreflect.MessageKind:
			fill(m.Mutable(fd).Message())
		default:
			m.Set(fd, scalar(fd))
		}
	}
}

// scalar is a value of fd's kind that is not its default; a Timestamp's
// seconds and nanos get values protojson accepts.
func scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString("v-" + string(fd.Name()))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(int32(fd.Number()) + 40)
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(1_700_000_000 + int64(fd.Number()))
	}
	panic("a field of a kind fill does not know: " + string(fd.FullName()))
}

// A state read from a site's hash says that site, whatever its document
// holds; one read from the default site's hash says none.
func TestUnmarshalSiteToolSaysTheHashsSite(t *testing.T) {
	south := "south"
	doc, err := MarshalTool(&statusv1.Tool{Id: 12, Site: &south})
	if err != nil {
		t.Fatal(err)
	}
	for _, site := range []string{"north", ""} {
		got, err := UnmarshalSiteTool(site, doc)
		if err != nil || got.GetId() != 12 || got.GetSite() != site || (site == "") != (got.Site == nil) {
			t.Errorf("read from %q's hash: %v, %v", site, got, err)
		}
	}
}
