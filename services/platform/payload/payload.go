// Package payload reads an event's payload once, where the event enters
// the bridge, into the facts every later hop needs: the tool it is about,
// its event type and its top-level fields. The router's tool state and
// rules read those facts from the Event and never parse the payload again,
// so that they cannot disagree about them (12 and 12.0 used to be two
// tools to one and the same tool to the other).
package payload

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"unicode"
	"unicode/utf8"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/loosejson"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload/jsonscan"
)

// Decode fills ev's decoded facts, its fields and its ordering key from
// its payload and topic: the router's reading of an event. An event
// decoded already is left as it is; one that Read read keeps its facts and
// has its fields rebuilt from their spans; one built by hand (a dry run),
// or sent by an ingest older than the spans, is read here.
func Decode(ev *bridgev1.Event) {
	if ev.GetDecoded() {
		return
	}
	ev.Decoded = true
	if fieldsFromSpans(ev) {
		return
	}
	if !readQuick(ev) {
		readSlow(ev)
	} else if !fieldsFromSpans(ev) {
		ev.Fields = nil // an object without fields, or no object
	}
	ev.OrderingKey = orderingKey(ev)
}

// Read fills ev's facts and its ordering key where the event enters the
// bridge (ingest, a dry run), with its fields as spans of the payload when
// the quick scan reads them: one packed list instead of a message per
// field for the hop to the router, which rebuilds them (Decode). decoded
// stays false then, so that a router older than the spans reads the
// payload itself rather than take an event without fields. A payload the
// quick scan cannot vouch for is decoded whole, fields and all.
func Read(ev *bridgev1.Event) {
	if ev.GetDecoded() {
		return
	}
	if !readQuick(ev) {
		ev.Decoded = true
		readSlow(ev)
	}
	ev.OrderingKey = orderingKey(ev)
}

// readSlow reads ev's payload with encoding/json.
func readSlow(ev *bridgev1.Event) {
	f, isObject := object(ev.GetPayload())
	ev.Fields, ev.FieldSpans, ev.PayloadIsObject = f, nil, isObject
	if id, ok := ID(f.Get("tool_id")); ok {
		ev.ToolId = &id
	}
	ev.EventType, _ = loosejson.String(f.Get("event"))
}

// maxDepth bounds how deep a field's value may nest for readQuick to
// read it; deeper ones are left to encoding/json.
const maxDepth = 64

// readQuick does what object and the readers of the tool id and event
// type do, in one pass over the payload, and gives the fields as spans of
// the payload (see Event.field_spans), in one allocation. It returns
// false, having changed nothing, for a payload it cannot vouch for reading
// exactly as encoding/json does (an escaped name, deep nesting, anything
// malformed); readSlow then reads it the old way.
func readQuick(ev *bridgev1.Event) bool {
	p := ev.GetPayload()
	raw := bytes.TrimSpace(p)
	if len(raw) == 0 || raw[0] != '{' {
		ev.Fields, ev.FieldSpans, ev.PayloadIsObject, ev.EventType = nil, nil, false, ""
		return true
	}
	var buf [16]jsonscan.Member
	ms, end, ok := jsonscan.Object(raw, 0, maxDepth, buf[:0])
	if !ok || end != len(raw) {
		return false
	}
	var spans []uint32
	if len(ms) > 0 {
		spans = make([]uint32, 0, 4*len(ms))
		at := uint32(len(p) - len(bytes.TrimLeftFunc(p, unicode.IsSpace))) // where raw starts
		for _, m := range ms {
			spans = append(spans, at+uint32(m.KeyStart), at+uint32(m.KeyEnd), at+uint32(m.ValueStart), at+uint32(m.ValueEnd))
		}
	}
	ev.Fields, ev.FieldSpans, ev.PayloadIsObject = nil, spans, true
	// As Fields.Get and encoding/json: a name written twice means its
	// last value.
	last := func(name string) (jsonscan.Member, bool) {
		for i := len(ms) - 1; i >= 0; i-- {
			if m := ms[i]; string(raw[m.KeyStart:m.KeyEnd]) == name {
				return m, true
			}
		}
		return jsonscan.Member{}, false
	}
	if m, ok := last("tool_id"); ok {
		if id, ok := ID(raw[m.ValueStart:m.ValueEnd]); ok {
			ev.ToolId = &id
		}
	}
	ev.EventType = ""
	if m, ok := last("event"); ok {
		if v := raw[m.ValueStart:m.ValueEnd]; jsonscan.Plain(v) {
			ev.EventType = string(v[1 : len(v)-1])
		} else {
			ev.EventType, _ = loosejson.String(v)
		}
	}
	return true
}

// fieldsFromSpans rebuilds ev's fields from its spans, names and values
// in two copies of the payload, and says whether it did: not when there
// are none, or when they do not fit the payload (then Decode reads the
// payload itself).
func fieldsFromSpans(ev *bridgev1.Event) bool {
	spans, p := ev.GetFieldSpans(), ev.GetPayload()
	if len(spans) == 0 || len(spans)%4 != 0 {
		return false
	}
	for i := 0; i < len(spans); i += 2 {
		if spans[i] > spans[i+1] || int(spans[i+1]) > len(p) {
			return false
		}
	}
	text, values := string(p), bytes.Clone(p)
	all := make([]bridgev1.PayloadField, len(spans)/4)
	fields := make(Fields, len(all))
	for i := range all {
		s := spans[4*i : 4*i+4]
		if all[i].Name = text[s[0]:s[1]]; !utf8.ValidString(all[i].Name) {
			return false
		}
		all[i].Value = values[s[2]:s[3]:s[3]]
		fields[i] = &all[i]
	}
	ev.Fields, ev.PayloadIsObject = fields, true
	return true
}

// orderingKey is the tool the event is about, so that one tool's events
// stay in order; events that name no tool are ordered by topic. A named
// site's keys start with the site ("north/tool:12"): its tool 12 is not
// the default site's, and the two need not wait for each other.
func orderingKey(ev *bridgev1.Event) string {
	key := "topic:" + ev.GetTopic()
	if ev.ToolId != nil {
		key = "tool:" + strconv.FormatInt(int64(ev.GetToolId()), 10)
	}
	if site := ev.GetSite(); site != "" {
		return site + "/" + key
	}
	return key
}

// Site is a NEMO site as ingest stamps it on the events of its input
// (its -site flags).
type Site struct {
	Name            string
	TopicPrefix     string
	DisplayTimezone string // "": the router's
}

// SetSite says that ev comes from site and gives ev the ordering key of
// that site's tool.
func SetSite(ev *bridgev1.Event, site Site) {
	ev.Site, ev.SiteTopicPrefix, ev.SiteDisplayTimezone = site.Name, site.TopicPrefix, site.DisplayTimezone
	ev.OrderingKey = orderingKey(ev)
}

// ID reads an id (of a tool, a usage, a task) as NEMO writes it: 12,
// 12.0, "12" or " 12 ". NEMO's ids are 32-bit; anything else is no id.
func ID(raw json.RawMessage) (int32, bool) {
	n, ok, sure := quickInt(raw)
	if !sure {
		n, ok = loosejson.Int(raw)
	}
	if !ok || n != int64(int32(n)) {
		return 0, false
	}
	return int32(n), true
}

// quickInt reads what loosejson.Int reads the same way without
// encoding/json: nothing, a whole number as digits (12, -3), or quoted
// digits in plain ASCII (" 12 "). It is sure of nothing else.
func quickInt(raw []byte) (n int64, ok, sure bool) {
	if len(raw) == 0 {
		return 0, false, true
	}
	t := raw
	if raw[0] == '"' {
		if !jsonscan.Plain(raw) {
			return 0, false, false
		}
		t = bytes.TrimSpace(raw[1 : len(raw)-1])
	}
	neg := len(t) > 0 && t[0] == '-'
	if neg {
		t = t[1:]
	}
	if len(t) == 0 || len(t) > 18 {
		return 0, false, false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true, true
}

// Fields reads a decoded event's fields.
type Fields []*bridgev1.PayloadField

// Get returns the value of the field named name, as JSON text, or nil. A
// name written twice means its last value, as in encoding/json.
func (f Fields) Get(name string) json.RawMessage {
	for i := len(f) - 1; i >= 0; i-- {
		if f[i].GetName() == name {
			return f[i].GetValue()
		}
	}
	return nil
}

// Has tells whether the payload has a field named name.
func (f Fields) Has(name string) bool { return f.Get(name) != nil }

// object reads the top level of a JSON object: its fields in the order
// written, each value as written, and whether raw is an object at all.
func object(raw []byte) (Fields, bool) {
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var fields Fields
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		fields = append(fields, &bridgev1.PayloadField{Name: tok.(string), Value: value})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // more after the object: not one object
	}
	return fields, true
}
