package envelope

import (
	"strconv"
	"strings"
	"testing"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

var limits = Limits{MaxPayloadBytes: 1024}

func TestPluginEnvelope(t *testing.T) {
	raw := `{"topic": "nemo/tools/12/enabled", "payload": "{\"event\":\"tool_enabled\",\"tool_id\":12,\"user_name\":\"Alice\"}", "qos": 1, "retain": false, "timestamp": 1760468411.106}`
	ev, rej := FromJSON("1-0", []byte(raw), limits)
	if rej != nil {
		t.Fatal(rej.Reason)
	}
	if ev.GetTopic() != "nemo/tools/12/enabled" || string(ev.GetPayload()) != `{"event":"tool_enabled","tool_id":12,"user_name":"Alice"}` {
		t.Errorf("topic %q payload %s", ev.GetTopic(), ev.GetPayload())
	}
	if ev.GetQos() != 1 || ev.GetRetain() || ev.GetOrderingKey() != "tool:12" {
		t.Errorf("qos %d retain %v key %q", ev.GetQos(), ev.GetRetain(), ev.GetOrderingKey())
	}
	if got := ev.GetWrittenAt().AsTime(); got.Sub(time.Unix(1760468411, 106e6)).Abs() > time.Millisecond {
		t.Errorf("written at %v", got)
	}
}

func TestLooseFieldTypesAreAccepted(t *testing.T) {
	for name, raw := range map[string]string{
		"object payload":     `{"topic":"nemo/tools/3","payload":{"event":"tool_updated","tool_id":"3","timestamp":false}}`,
		"timestamp false":    `{"topic":"t","payload":"{}","timestamp":false}`,
		"timestamp ISO":      `{"topic":"t","payload":"{}","timestamp":"2025-10-14T19:00:11.106Z"}`,
		"qos as text":        `{"topic":"t","payload":"{}","qos":"2"}`,
		"no qos":             `{"topic":"t","payload":"{}"}`,
		"retain as 1":        `{"topic":"t","payload":"{}","retain":1}`,
		"plain text payload": `{"topic":"t","payload":"hello"}`,
		"whitespace after":   "{\"topic\":\"t\",\"payload\":\"{}\"} \r\n\t",
	} {
		if _, rej := FromJSON("1", []byte(raw), limits); rej != nil {
			t.Errorf("%s: refused: %s", name, rej.Reason)
		}
	}
}

// NEMO writes a tool id as 12 or "12"; older plugins and hand-made
// entries as 12.0 or " 12 ". All are tool 12, in the envelope as a string
// payload, an object payload, or a stream entry's own fields: one ordering
// key (one worker, one order) and one tool id for every later hop.
func TestOrderingKeyFollowsToolID(t *testing.T) {
	var events []*bridgev1.Event
	for i, id := range []string{`12`, `12.0`, `"12"`, `" 12 "`} {
		obj, _ := FromJSON("o", []byte(`{"topic":"nemo/tools/Raith EBL/start","payload":{"tool_id":`+id+`}}`), limits)
		text, _ := FromJSON("s", []byte(`{"topic":"nemo/tools/12/enabled","payload":`+strconv.Quote(`{"tool_id":`+id+`}`)+`}`), limits)
		fields, _ := FromStreamFields(strconv.Itoa(i), map[string]any{"topic": "t", "payload": `{"event":"x","tool_id":` + id + `}`}, limits)
		events = append(events, obj, text, fields)
	}
	for _, ev := range events {
		if ev.GetOrderingKey() != "tool:12" || ev.ToolId == nil || ev.GetToolId() != 12 || len(ev.GetFieldSpans()) == 0 {
			t.Errorf("payload %s: key %q, tool id %v, %d field spans; want tool:12, 12, the fields as spans", ev.GetPayload(), ev.GetOrderingKey(), ev.ToolId, len(ev.GetFieldSpans()))
		}
	}
	for _, raw := range []string{
		`{"topic":"nemo/areas/2","payload":"{\"area\":2}"}`,
		`{"topic":"nemo/areas/2","payload":"{\"tool_id\":12.5}"}`,
		`{"topic":"nemo/areas/2","payload":"{\"tool_id\":4294967308}"}`,
		`{"topic":"nemo/areas/2","payload":"plain text"}`,
	} {
		ev, rej := FromJSON("a", []byte(raw), limits)
		if rej != nil || ev.GetOrderingKey() != "topic:nemo/areas/2" || ev.ToolId != nil {
			t.Errorf("%s: key %q, tool id %v, refused %v; want the topic's key and no tool", raw, ev.GetOrderingKey(), ev.ToolId, rej)
		}
	}
}

func TestRejections(t *testing.T) {
	big := `{"topic":"t","payload":"` + strings.Repeat("x", 1025) + `"}`
	for _, tc := range []struct {
		raw     string
		cause   bridgev1.Cause
		mention string
	}{
		{`not json`, bridgev1.Cause_CAUSE_NOT_JSON, "not a JSON object"},
		{`[1,2]`, bridgev1.Cause_CAUSE_NOT_JSON, "not a JSON object"},
		{`{"payload":"{}"}`, bridgev1.Cause_CAUSE_MISSING_TOPIC, "no topic"},
		{`{"topic":"","payload":"{}"}`, bridgev1.Cause_CAUSE_MISSING_TOPIC, "no topic"},
		{`{"topic":7,"payload":"{}"}`, bridgev1.Cause_CAUSE_MISSING_TOPIC, "no topic"},
		{`{"topic":"t"}`, bridgev1.Cause_CAUSE_INVALID_PAYLOAD, "no payload"},
		{`{"topic":"t","payload":42}`, bridgev1.Cause_CAUSE_INVALID_PAYLOAD, "42"},
		{big, bridgev1.Cause_CAUSE_PAYLOAD_TOO_LARGE, "1025 bytes"},
		{`{"topic":"t","payload":"{}","qos":7}`, bridgev1.Cause_CAUSE_INVALID_QOS, "qos is 7"},
		{`{"topic":"t","payload":"{}","qos":"high"}`, bridgev1.Cause_CAUSE_INVALID_QOS, `"high"`},
		{`{"topic":"t","payload":"{}"}xyz`, bridgev1.Cause_CAUSE_NOT_JSON, `3 bytes after its JSON object, at byte 28 (counting from 0): "xyz"`},
		{`{"topic":"t","payload":"{}"} {"topic":"u","payload":"{}"}` + "\n", bridgev1.Cause_CAUSE_NOT_JSON, "29 bytes after its JSON object, at byte 29"},
		{`{"topic":"t","payload":"{}"}}`, bridgev1.Cause_CAUSE_NOT_JSON, `1 byte after its JSON object, at byte 28 (counting from 0): "}"`},
	} {
		_, rej := FromJSON("1", []byte(tc.raw), limits)
		if rej == nil || rej.Cause != tc.cause || !strings.Contains(rej.Reason, tc.mention) {
			t.Errorf("%.40s: got %+v, want code %s mentioning %q", tc.raw, rej, tc.cause, tc.mention)
		}
	}
}

func TestStreamFields(t *testing.T) {
	ev, rej := FromStreamFields("5-0", map[string]any{
		"topic": "nemo/tools/12/disabled", "payload": `{"event":"tool_disabled","tool_id":12}`, "qos": "1", "retain": "false", "timestamp": "1760468411.106",
	}, limits)
	if rej != nil {
		t.Fatal(rej.Reason)
	}
	if string(ev.GetPayload()) != `{"event":"tool_disabled","tool_id":12}` || ev.GetQos() != 1 || ev.GetOrderingKey() != "tool:12" {
		t.Errorf("event %v", ev)
	}
	if _, rej := FromStreamFields("6-0", map[string]any{"topic": "t", "payload": "{}", "qos": "9"}, limits); rej == nil || rej.Cause != bridgev1.Cause_CAUSE_INVALID_QOS {
		t.Errorf("qos 9 accepted: %+v", rej)
	}
}
