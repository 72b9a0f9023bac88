package payload

import (
	"slices"
	"strings"
	"testing"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"google.golang.org/protobuf/proto"
)

func TestDecodeReadsTheFactsOnce(t *testing.T) {
	ev := &bridgev1.Event{Topic: "nemo/tools/12/enabled", Payload: []byte(` {"event":"tool_enabled", "tool_id":" 12 ","a":{"b":1},"event":"tool_disabled"} `)}
	Decode(ev)
	if !ev.GetDecoded() || !ev.GetPayloadIsObject() || ev.GetToolId() != 12 || ev.GetOrderingKey() != "tool:12" {
		t.Fatalf("decoded %v object %v tool %v key %q", ev.GetDecoded(), ev.GetPayloadIsObject(), ev.ToolId, ev.GetOrderingKey())
	}
	// A name written twice means its last value, as encoding/json reads it.
	if ev.GetEventType() != "tool_disabled" {
		t.Errorf("event type %q, want the last one written", ev.GetEventType())
	}
	var names []string
	for _, f := range ev.GetFields() {
		names = append(names, f.GetName())
	}
	if len(names) != 4 || names[0] != "event" || names[2] != "a" || string(Fields(ev.GetFields()).Get("a")) != `{"b":1}` {
		t.Errorf("fields %v, a = %s; want all four in order, values as written", names, Fields(ev.GetFields()).Get("a"))
	}

	// Decoded once: an event ingest decoded is not read again.
	ev.Payload = []byte(`{"tool_id":99}`)
	Decode(ev)
	if ev.GetToolId() != 12 {
		t.Error("an event decoded already was decoded again")
	}
}

// Ingest reads an event's fields as spans; the router rebuilds the same
// fields from them. Spans that do not fit the payload (corrupt, or forged
// by a client) are not trusted, and a router that does not know them (an
// older one) reads the payload itself: either way the same fields.
func TestFieldsTravelAsSpans(t *testing.T) {
	raw := " {\"event\":\"tool_enabled\",\"tool_id\":12,\"user\":\"Zoë\",\"a\":{\"b\":[1,2]}}\n"
	decoded := &bridgev1.Event{Topic: "t", Payload: []byte(raw)}
	Decode(decoded)
	want := names(decoded)
	sent := &bridgev1.Event{Topic: "t", Payload: []byte(raw)}
	Read(sent)
	if sent.GetDecoded() || sent.Fields != nil || len(sent.GetFieldSpans()) != 16 || sent.GetToolId() != 12 || sent.GetEventType() != "tool_enabled" || sent.GetOrderingKey() != "tool:12" {
		t.Fatalf("Read: decoded %v, %d fields, %d spans, tool %v, event %q, key %q; want the facts and the fields as 16 spans",
			sent.GetDecoded(), len(sent.Fields), len(sent.GetFieldSpans()), sent.ToolId, sent.GetEventType(), sent.GetOrderingKey())
	}
	for name, spans := range map[string][]uint32{
		"as sent":          sent.GetFieldSpans(),
		"past the end":     append(slices.Clone(sent.GetFieldSpans()[:15]), uint32(len(raw)+1)),
		"backwards":        append([]uint32{5, 2, 9, 10}, sent.GetFieldSpans()[4:]...),
		"not four a field": sent.GetFieldSpans()[:15],
		"a name not UTF-8": append([]uint32{1, uint32(strings.Index(raw, "ë") + 1)}, sent.GetFieldSpans()[2:]...),
		"unknown":          nil,
	} {
		ev := proto.Clone(sent).(*bridgev1.Event)
		ev.FieldSpans = spans
		Decode(ev)
		if got := names(ev); !slices.Equal(got, want) || !ev.GetDecoded() || string(Fields(ev.GetFields()).Get("a")) != `{"b":[1,2]}` {
			t.Errorf("spans %s: fields %q, a = %s; want %q and a = {\"b\":[1,2]}", name, got, Fields(ev.GetFields()).Get("a"), want)
		}
	}
	// A payload the quick scan cannot vouch for is decoded whole.
	escaped := &bridgev1.Event{Payload: []byte(`{"tool\u005fid":3}`)}
	Read(escaped)
	if !escaped.GetDecoded() || len(escaped.GetFields()) != 1 || len(escaped.GetFieldSpans()) > 0 || escaped.GetToolId() != 3 {
		t.Errorf("an escaped name: decoded %v, %d fields, %d spans, tool %v; want it decoded whole", escaped.GetDecoded(), len(escaped.GetFields()), len(escaped.GetFieldSpans()), escaped.ToolId)
	}
}

func names(ev *bridgev1.Event) []string {
	var out []string
	for _, f := range ev.GetFields() {
		out = append(out, f.GetName()+"="+string(f.GetValue()))
	}
	return out
}

func TestPayloadsThatAreNotOneObjectHaveNoFields(t *testing.T) {
	for _, raw := range []string{`plain text`, `[1,2]`, `{"tool_id":12} trailing`, `{"tool_id":12`, `{"tool_id":12}{}`, ``} {
		ev := &bridgev1.Event{Topic: "t", Payload: []byte(raw)}
		Decode(ev)
		if ev.GetPayloadIsObject() || len(ev.GetFields()) > 0 || ev.ToolId != nil || ev.GetOrderingKey() != "topic:t" {
			t.Errorf("%q: object %v, %d fields, tool %v, key %q; want none and the topic's key", raw, ev.GetPayloadIsObject(), len(ev.GetFields()), ev.ToolId, ev.GetOrderingKey())
		}
	}
	ev := &bridgev1.Event{Payload: []byte(`{}`)}
	Decode(ev)
	if !ev.GetPayloadIsObject() {
		t.Error("{} is an object without fields")
	}
}

func TestIDReadsEveryFormNEMOWrites(t *testing.T) {
	for raw, want := range map[string]int32{`12`: 12, `12.0`: 12, `"12"`: 12, `" 12 "`: 12, `-3`: -3} {
		if got, ok := ID([]byte(raw)); !ok || got != want {
			t.Errorf("ID(%s) = %d, %v; want %d", raw, got, ok, want)
		}
	}
	for _, raw := range []string{`12.5`, `4294967308`, `"twelve"`, `null`, `true`, ``} {
		if got, ok := ID([]byte(raw)); ok {
			t.Errorf("ID(%s) = %d; want no id", raw, got)
		}
	}
}

func TestASitesToolHasAKeyOfItsOwn(t *testing.T) {
	ev := &bridgev1.Event{Topic: "t", Payload: []byte(`{"tool_id":12}`)}
	Decode(ev)
	SetSite(ev, Site{Name: "north", TopicPrefix: "north/"})
	if ev.GetOrderingKey() != "north/tool:12" || ev.GetSite() != "north" || ev.GetSiteTopicPrefix() != "north/" {
		t.Errorf("key %q, site %q, prefix %q; want north/tool:12, north, north/", ev.GetOrderingKey(), ev.GetSite(), ev.GetSiteTopicPrefix())
	}
	// A dry run's event, built by hand with its site, decodes to the same key.
	hand := &bridgev1.Event{Topic: "t", Payload: []byte(`{"tool_id":"12"}`), Site: "north"}
	Decode(hand)
	if hand.GetOrderingKey() != ev.GetOrderingKey() {
		t.Errorf("hand-built event's key %q, want %q", hand.GetOrderingKey(), ev.GetOrderingKey())
	}
	topic := &bridgev1.Event{Topic: "nemo/areas/3", Payload: []byte(`"text"`)}
	Decode(topic)
	SetSite(topic, Site{Name: "south", TopicPrefix: "south/"})
	if topic.GetOrderingKey() != "south/topic:nemo/areas/3" {
		t.Errorf("a site's event about no tool: key %q", topic.GetOrderingKey())
	}
}
