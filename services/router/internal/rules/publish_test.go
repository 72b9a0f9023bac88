package rules

import (
	"encoding/json"
	"google.golang.org/protobuf/proto"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
)

func TestTemplates(t *testing.T) {
	const payload = `{"event":"tool_usage_start","tool_id":12,"tool_name":"R+D #1/A","user_name":"","lab":{"room":"B 2","id":7},"flag":true,"none":null,"list":[1]}`
	for _, tc := range []struct {
		template, want string
	}{
		{"{prefix}fixed/topic", "site1/fixed/topic"},
		{"{prefix}{topic}", "site1/nemo/tools/R_D _1/A/start"},
		{"x/{event}", "x/tool_usage_start"},
		{"x/{tool_id}", "x/12"},
		{"x/{tool_name}/y", "x/R_D _1_A/y"},
		{"x/{payload.lab.room}/{payload.lab.id}", "x/B 2/7"},
		{"x/{payload.flag}", "x/true"},
		{"x/{payload.user_name}", "x/_"},
		{"x/{payload.none}/{payload.list}/{payload.lab}/{payload.missing}", "x/_/_/_/_"},
		{"{event}-{tool_id}", "tool_usage_start-12"},
		{"ünïcode/{tool_id}", "ünïcode/12"},
	} {
		s := mustParse(t, "prefix: site1/\nrules:\n  - name: r\n    publish: [{topic: \""+tc.template+"\"}]\n")
		msgs, _, err := s.Apply(event("nemo/tools/R+D #1/A/start", payload), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.template, err)
		}
		if got := msgs[0].GetTopic(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.template, got, tc.want)
		}
	}
}

// A tool's topics and texts name it the same however NEMO wrote its id;
// an id that is no number is written as it is.
func TestToolIDRendersAsIngestReadIt(t *testing.T) {
	s := mustParse(t, "rules:\n  - name: r\n    publish: [{topic: \"nemo/esp32/{tool_id}/status\", payload: {name: \"Tool {tool_id}\"}}]\n")
	for raw, want := range map[string]string{`12`: "12", `12.0`: "12", `"12"`: "12", `" 12 "`: "12", `"R2"`: "R2"} {
		msgs, _, err := s.Apply(event("t", `{"tool_id":`+raw+`}`), nil)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if topic, body := msgs[0].GetTopic(), string(msgs[0].GetPayload()); topic != "nemo/esp32/"+want+"/status" || body != `{"name":"Tool `+want+`"}` {
			t.Errorf("tool_id %s: topic %q, payload %s; want tool %s in both", raw, topic, body, want)
		}
	}
}

func TestVariablesOfPlainTextRenderAsUnderscore(t *testing.T) {
	s := mustParse(t, "rules:\n  - name: r\n    publish: [{topic: \"t/{tool_id}/{event}/{payload.x}\"}]\n")
	msgs, _, err := s.Apply(event("t", "tool 12 is on"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := msgs[0].GetTopic(); got != "t/_/_/_" {
		t.Errorf("got %q", got)
	}
}

func TestEventValuesAreMadeSafe(t *testing.T) {
	s := mustParse(t, "rules:\n  - name: r\n    publish: [{topic: \"{event}/x\"}]\n")
	for value, want := range map[string]string{
		`"$SYS"`:               "_SYS/x",
		`"a/b+c#d"`:            "a_b_c_d/x",
		`"tab\tnl\nnul\u0000"`: "tab_nl_nul_/x",
		`""`:                   "_/x",
		`"caf\u00e9"`:          "café/x",
		`12.50`:                "12.50/x",
	} {
		msgs, _, err := s.Apply(event("t", `{"event":`+value+`}`), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := msgs[0].GetTopic(); got != want {
			t.Errorf("event %s: got %q, want %q", value, got, want)
		}
	}
}

// Events whose topic or values hold what brokers close the connection on
// (a noncharacter, more than 200 levels) still make a message, on a topic
// brokers take: with the built-in rules and with a template.
func TestEventsBrokersRefuseBecomePublishableTopics(t *testing.T) {
	deep := "nemo/tools/" + strings.Repeat("x/", 250) + "start"
	for _, tc := range []struct {
		rules          *Set
		topic, payload string
		want           string
	}{
		{Default(), "nemo/tools/Etch \uFFFF/start", `{"event":"tool_usage_start","tool_id":12}`, "nemo/tools/Etch _/start"},
		{Default(), "nemo/tools/\uFDD0\U0001FFFE\u0085/end", `{"event":"tool_usage_end","tool_id":12}`, "nemo/tools/___/end"},
		{Default(), deep, `{"event":"tool_usage_start","tool_id":12}`, "nemo/tools/" + strings.Repeat("x/", 198) + strings.Repeat("x_", 52) + "start"},
		{mustParse(t, "rules:\n  - name: r\n    publish: [{topic: \"nemo/{tool_name}/{event}\"}]\n"), "t", `{"event":"x\uffff","tool_name":"Etch/\ufdd0\ud83d\ude00"}`, "nemo/Etch__😀/x_"},
	} {
		msgs, _, err := tc.rules.Apply(event(tc.topic, tc.payload), nil)
		if err != nil {
			t.Fatalf("%.40q: %v", tc.topic, err)
		}
		got := msgs[0].GetTopic()
		if got != tc.want {
			t.Errorf("%.40q: got %q, want %q", tc.topic, got, tc.want)
		}
		if err := publishable.Topic(got); err != nil {
			t.Errorf("%.40q: %v", tc.topic, err)
		}
	}
}

func TestMessageSettings(t *testing.T) {
	const payload = `{"event":"tool_enabled","tool_id":12,"user_id":5,"user_name":"Ada"}`
	base := func() *bridgev1.Message {
		return &bridgev1.Message{Topic: "t", Payload: []byte(payload), Qos: 1, OrderingKey: "tool:12", ToolId: proto.Int32(12),
			ContentType: "application/json", EventId: "1760468411106-0"}
	}
	for _, tc := range []struct {
		name, publish string
		retained      bool
		want          func(m *bridgev1.Message)
	}{
		{"defaults are the event's", `{topic: t}`, false, func(*bridgev1.Message) {}},
		{"retain default from the event", `{topic: t}`, true, func(m *bridgev1.Message) { m.Retain = true }},
		{"qos override", `{topic: t, qos: 0}`, false, func(m *bridgev1.Message) { m.Qos = 0 }},
		{"qos 2", `{topic: t, qos: 2}`, false, func(m *bridgev1.Message) { m.Qos = 2 }},
		{"retain override on", `{topic: t, retain: true}`, false, func(m *bridgev1.Message) { m.Retain = true }},
		{"retain override off", `{topic: t, retain: false}`, true, func(m *bridgev1.Message) { m.Retain = false }},
		{"expiry", `{topic: t, expiry: 1h30m}`, false, func(m *bridgev1.Message) { m.ExpirySeconds = 5400 }},
		{"keep", `{topic: t, keep: [user_name, event]}`, false, func(m *bridgev1.Message) {
			m.Payload = []byte(`{"event":"tool_enabled","user_name":"Ada"}`)
		}},
		{"drop", `{topic: t, drop: [user_id]}`, false, func(m *bridgev1.Message) {
			m.Payload = []byte(`{"event":"tool_enabled","tool_id":12,"user_name":"Ada"}`)
		}},
		{"keep nothing", `{topic: t, keep: []}`, false, func(m *bridgev1.Message) { m.Payload = []byte(`{}`) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, "rules:\n  - name: r\n    publish: ["+tc.publish+"]\n")
			ev := event("src", payload)
			ev.Retain = tc.retained
			msgs, _, err := s.Apply(ev, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := base()
			tc.want(want)
			if diff := cmp.Diff([]*bridgev1.Message{want}, msgs, protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlainTextPayload(t *testing.T) {
	s := mustParse(t, "rules:\n  - name: r\n    publish: [{topic: t, keep: [a]}]\n")
	msgs, _, _ := s.Apply(event("t", "tool is down"), nil)
	if m := msgs[0]; string(m.GetPayload()) != "tool is down" || m.GetContentType() != "" {
		t.Errorf("got payload %q, content type %q; want the text untouched and no content type", m.GetPayload(), m.GetContentType())
	}
}

// A message is application/json exactly when its payload is JSON, whether
// the router knows it (an object ingest read, a payload template, a
// signed envelope) or checks it (any other payload).
func TestTheContentTypeIsJSONExactlyWhenThePayloadIs(t *testing.T) {
	passOn := "rules:\n  - name: r\n    publish: [{topic: t}]\n"
	for _, tc := range []struct {
		name, rules, payload string
		sign, want           bool
	}{
		{"an object", passOn, `{"tool_id": 12}`, false, true},
		{"an object filtered", "rules:\n  - name: r\n    publish: [{topic: t, keep: [a]}]\n", `{"a": 1, "b": 2}`, false, true},
		{"an array", passOn, `[1, 2]`, false, true},
		{"a number", passOn, `12`, false, true},
		{"plain text", passOn, `tool is down`, false, false},
		{"broken JSON", passOn, `{"a": `, false, false},
		{"a template over plain text", "rules:\n  - name: r\n    publish: [{topic: t, payload: {topic: \"{topic}\"}}]\n", `tool is down`, false, true},
		{"plain text signed", passOn, `tool is down`, true, true},
	} {
		s := mustParse(t, tc.rules)
		if tc.sign {
			s = mustWith(t, s, Settings{SigningKey: []byte("k"), SignAll: true})
		}
		msgs, _, err := s.Apply(event("t", tc.payload), nil)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%s: %v, %d messages", tc.name, err, len(msgs))
		}
		if got := msgs[0].GetContentType() == "application/json"; got != tc.want || got != json.Valid(msgs[0].GetPayload()) {
			t.Errorf("%s: content type %q for payload %q", tc.name, msgs[0].GetContentType(), msgs[0].GetPayload())
		}
	}
}

func TestApplyErrorNamesTheRule(t *testing.T) {
	for _, tc := range []struct {
		name, template, topic, want string
	}{
		{"topic too long", "x/{payload.long}", "t", `rule "r", publish[0]: the topic is 70002 bytes long; MQTT allows at most 65535`},
		{"source topic empty", "{topic}", "", `rule "r", publish[0]: {topic}: source topic "" cannot be published: topic is empty`},
		{"too many levels with the prefix", "{prefix}{topic}", strings.Repeat("a/", 250), `rule "r", publish[0]: the topic has 202 levels; brokers such as mosquitto allow at most 201`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, "prefix: site/\nrules:\n  - name: r\n    publish: [{topic: \""+tc.template+"\"}]\n")
			msgs, matched, err := s.Apply(event(tc.topic, `{"long":"`+strings.Repeat("a", 70000)+`"}`), nil)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
			if msgs != nil || len(matched) != 1 {
				t.Errorf("got messages %d, matched %v; want none and the rule", len(msgs), matched)
			}
		})
	}
}
