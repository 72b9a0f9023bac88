package envelope

import (
	"strings"
	"testing"
	"time"
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

func TestOrderingKeyFollowsToolID(t *testing.T) {
	a, _ := FromJSON("1", []byte(`{"topic":"nemo/tools/Raith EBL/start","payload":{"tool_id":"7"}}`), limits)
	b, _ := FromJSON("2", []byte(`{"topic":"nemo/tools/7/enabled","payload":"{\"tool_id\":7}"}`), limits)
	c, _ := FromJSON("3", []byte(`{"topic":"nemo/areas/2","payload":"{\"area\":2}"}`), limits)
	if a.GetOrderingKey() != "tool:7" || b.GetOrderingKey() != "tool:7" || c.GetOrderingKey() != "topic:nemo/areas/2" {
		t.Errorf("keys %q %q %q", a.GetOrderingKey(), b.GetOrderingKey(), c.GetOrderingKey())
	}
}

func TestRejections(t *testing.T) {
	big := `{"topic":"t","payload":"` + strings.Repeat("x", 1025) + `"}`
	for _, tc := range []struct{ raw, code, mention string }{
		{`not json`, NotJSON, "not a JSON object"},
		{`[1,2]`, NotJSON, "not a JSON object"},
		{`{"payload":"{}"}`, MissingTopic, "no topic"},
		{`{"topic":"","payload":"{}"}`, MissingTopic, "no topic"},
		{`{"topic":7,"payload":"{}"}`, MissingTopic, "no topic"},
		{`{"topic":"t"}`, InvalidPayload, "no payload"},
		{`{"topic":"t","payload":42}`, InvalidPayload, "42"},
		{big, PayloadTooLarge, "1025 bytes"},
		{`{"topic":"t","payload":"{}","qos":7}`, InvalidQoS, "qos is 7"},
		{`{"topic":"t","payload":"{}","qos":"high"}`, InvalidQoS, `"high"`},
		{`{"topic":"t","payload":"{}"}xyz`, NotJSON, `3 bytes after its JSON object, at byte 28 (counting from 0): "xyz"`},
		{`{"topic":"t","payload":"{}"} {"topic":"u","payload":"{}"}` + "\n", NotJSON, "29 bytes after its JSON object, at byte 29"},
		{`{"topic":"t","payload":"{}"}}`, NotJSON, `1 byte after its JSON object, at byte 28 (counting from 0): "}"`},
	} {
		_, rej := FromJSON("1", []byte(tc.raw), limits)
		if rej == nil || rej.Code != tc.code || !strings.Contains(rej.Reason, tc.mention) {
			t.Errorf("%.40s: got %+v, want code %s mentioning %q", tc.raw, rej, tc.code, tc.mention)
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
	if _, rej := FromStreamFields("6-0", map[string]any{"topic": "t", "payload": "{}", "qos": "9"}, limits); rej == nil || rej.Code != InvalidQoS {
		t.Errorf("qos 9 accepted: %+v", rej)
	}
}
