package records

import (
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// appendTool appends t as marshalToolProtojson writes it: every field in
// field-number order under its proto name, unset messages as null, empty
// lists as [], and site only when set. It reports false, with b's
// contents undefined, when it cannot be sure of writing the same bytes (a
// string protojson refuses, a Timestamp it refuses or that falls outside
// what this encoder formats, unknown fields, a nil task); the caller then
// asks protojson, so its bytes or its error stay the reference.
func appendTool(b []byte, t *statusv1.Tool) ([]byte, bool) {
	if t == nil || hasUnknown(t) {
		return b, false
	}
	ok := true
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(t.Id), 10)
	b = append(b, `,"name":`...)
	b, ok = appendJSONString(b, t.Name, ok)
	b = append(b, `,"in_use":`...)
	b = strconv.AppendBool(b, t.InUse)
	b = append(b, `,"user":`...)
	b, ok = appendJSONString(b, t.User, ok)
	b = append(b, `,"in_use_since":`...)
	b, ok = appendTimestamp(b, t.InUseSince, ok)
	b = append(b, `,"usage_id":`...)
	b = strconv.AppendInt(b, int64(t.UsageId), 10)
	b = append(b, `,"operational":`...)
	b = strconv.AppendBool(b, t.Operational)
	b = append(b, `,"problematic":`...)
	b = strconv.AppendBool(b, t.Problematic)
	b = append(b, `,"shutdown":`...)
	b = strconv.AppendBool(b, t.Shutdown)
	b = append(b, `,"open_tasks":[`...)
	for i, task := range t.OpenTasks {
		if i > 0 {
			b = append(b, ',')
		}
		b, ok = appendTask(b, task, ok)
	}
	b = append(b, `],"last_event":`...)
	b, ok = appendJSONString(b, t.LastEvent, ok)
	b = append(b, `,"last_event_at":`...)
	b, ok = appendTimestamp(b, t.LastEventAt, ok)
	b = append(b, `,"sequence":`...)
	b, ok = appendJSONString(b, t.Sequence, ok)
	b = append(b, `,"customer_name":`...)
	if t.CustomerName == nil {
		b = append(b, "null"...)
	} else {
		ok = ok && !hasUnknown(t.CustomerName)
		b, ok = appendJSONString(b, t.CustomerName.Value, ok)
	}
	b = append(b, `,"current_usage_id":`...)
	if t.CurrentUsageId == nil {
		b = append(b, "null"...)
	} else {
		ok = ok && !hasUnknown(t.CurrentUsageId)
		b = strconv.AppendInt(b, int64(t.CurrentUsageId.Value), 10)
	}
	b = append(b, `,"current_usage_start":`...)
	b, ok = appendTimestamp(b, t.CurrentUsageStart, ok)
	b = append(b, `,"problem_descriptions":[`...)
	for i, d := range t.ProblemDescriptions {
		if i > 0 {
			b = append(b, ',')
		}
		b, ok = appendJSONString(b, d, ok)
	}
	b = append(b, `],"last_user":`...)
	b, ok = appendJSONString(b, t.LastUser, ok)
	if t.Site != nil {
		b = append(b, `,"site":`...)
		b, ok = appendJSONString(b, *t.Site, ok)
	}
	b = append(b, '}')
	return b, ok
}

// appendTask appends one of a tool's open tasks, as appendTool does the
// tool. A nil task is left to protojson.
func appendTask(b []byte, t *statusv1.Task, ok bool) ([]byte, bool) {
	if t == nil || hasUnknown(t) {
		return b, false
	}
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(t.Id), 10)
	b = append(b, `,"problem_description":`...)
	b, ok = appendJSONString(b, t.ProblemDescription, ok)
	b = append(b, `,"force_shutdown":`...)
	b = strconv.AppendBool(b, t.ForceShutdown)
	b = append(b, `,"safety_hazard":`...)
	b = strconv.AppendBool(b, t.SafetyHazard)
	b = append(b, `,"created_at":`...)
	b, ok = appendTimestamp(b, t.CreatedAt, ok)
	b = append(b, '}')
	return b, ok
}

// hasUnknown reports whether m carries fields this encoder does not know
// of; protojson is the judge of what becomes of them.
func hasUnknown(m proto.Message) bool {
	return len(m.ProtoReflect().GetUnknown()) != 0
}

// appendJSONString appends s quoted as protojson quotes it: it refuses
// invalid UTF-8, escapes only '"', '\\' and the control characters below
// U+0020 (\b \f \n \r \t by name, the others as \u00xx in lower-case
// hex), and copies everything else as is, DEL, '<', '>', '&', U+2028 and
// U+2029 included (json.Compact, called without HTML escaping, leaves
// them alone too). ok is passed through, so that a caller can chain calls
// and check once.
func appendJSONString(b []byte, s string, ok bool) ([]byte, bool) {
	if !utf8.ValidString(s) {
		return b, false
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= ' ' && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	b = append(b, '"')
	return b, ok
}

const lowerHex = "0123456789abcdef"

// The range of seconds protojson accepts in a Timestamp: 0001-01-01 to
// 9999-12-31, so that the year always has four digits.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// appendTimestamp appends ts as protojson writes a Timestamp: RFC 3339 in
// UTC with 0, 3, 6 or 9 fractional digits, or null when unset. Seconds or
// nanos protojson refuses, and unknown fields, are left to protojson.
func appendTimestamp(b []byte, ts *timestamppb.Timestamp, ok bool) ([]byte, bool) {
	if ts == nil {
		return append(b, "null"...), ok
	}
	secs, nanos := ts.Seconds, ts.Nanos
	if secs < minTimestampSeconds || secs > maxTimestampSeconds ||
		nanos < 0 || nanos > 999_999_999 || hasUnknown(ts) {
		return b, false
	}
	t := ts.AsTime()
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	b = append(b, '"')
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, second, 2)
	switch {
	case nanos == 0:
	case nanos%1_000_000 == 0:
		b = append(b, '.')
		b = appendDigits(b, int(nanos/1_000_000), 3)
	case nanos%1_000 == 0:
		b = append(b, '.')
		b = appendDigits(b, int(nanos/1_000), 6)
	default:
		b = append(b, '.')
		b = appendDigits(b, int(nanos), 9)
	}
	b = append(b, 'Z', '"')
	return b, ok
}

// appendDigits appends n, which is not negative, in decimal padded with
// zeros to width digits.
func appendDigits(b []byte, n, width int) []byte {
	var buf [9]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, buf[:width]...)
}

// toolSizeHint is about the length of t's JSON, so that appendTool
// usually fills one allocation: the names and punctuation of every field
// (about 330 bytes) plus the strings, with room for a few escapes and a
// timestamp or three.
func toolSizeHint(t *statusv1.Tool) int {
	if t == nil {
		return 0
	}
	n := 448 + len(t.Name) + len(t.User) + len(t.LastEvent) + len(t.Sequence) +
		len(t.CustomerName.GetValue()) + len(t.LastUser) + len(t.GetSite())
	for _, task := range t.OpenTasks {
		n += 128 + len(task.GetProblemDescription())
	}
	for _, d := range t.ProblemDescriptions {
		n += 3 + len(d)
	}
	return n
}
