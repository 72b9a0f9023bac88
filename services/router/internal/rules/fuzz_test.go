package rules

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
)

// FuzzParse: any file either loads, and then makes only safe topics, or
// is refused with errors that each say where.
func FuzzParse(f *testing.F) {
	f.Add(defaultFile)
	if example, err := os.ReadFile("testdata/example.yaml"); err == nil {
		f.Add(example)
	}
	for _, tc := range validationCases {
		f.Add([]byte(tc.file))
	}
	for _, tc := range payloadValidationCases {
		f.Add([]byte(tc.file))
	}
	f.Add(displaysFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Fatalf("error %v is not a non-empty *Errors", err)
			}
			for _, e := range errs.List {
				if e.File != "f.yaml" || e.Line < 1 || (e.Column < 1 && !strings.HasPrefix(e.Msg, "invalid YAML")) {
					t.Fatalf("error without a position: %#v", e)
				}
			}
			return
		}
		if len(s.Version()) != 12 {
			t.Fatalf("version %q", s.Version())
		}
		for _, ev := range []*bridgev1.Event{
			{Topic: "nemo/tools/R+D #1/start", Payload: []byte(`{"event":"tool_usage_start","tool_id":"12","tool_name":"$R+D/#1"}`)},
			{Topic: "nemo/tools/12/tasks", Payload: []byte(`{"event":"task_shutdown","force_shutdown":true,"a":{"b":"c/d"}}`)},
			{Topic: "t", Payload: []byte("plain text")},
		} {
			msgs, _, err := s.Apply(decoded(ev), nil)
			if err != nil {
				continue
			}
			for _, m := range msgs {
				checkTopic(t, m.GetTopic())
			}
		}
	})
}

// FuzzRender: whatever an event holds, a template that loads renders a
// topic that is publishable, not a broker topic, and has the levels its
// template, prefix and source topic give it: a value never adds one.
func FuzzRender(f *testing.F) {
	f.Add("{prefix}nemo/tools/{tool_id}/{event}", "site1/", "12", "nemo/tools/12/enabled")
	f.Add("{prefix}{topic}", "", "x", "nemo/tools/R+D #1/start")
	f.Add("{event}/{payload.x}", "", "$SYS/#", "$SYS/x")
	f.Add("a/{tool_name}{payload.x}/b", "p/", "a/b+c\x00d\ne", "")
	f.Add("{payload.x}", "", "", "t")
	f.Add("nemo/{tool_name}/{payload.x}", "", "Etch \uFFFF\uFDD0\U0001FFFE", "t")
	f.Add("{prefix}{topic}", "site/", "x", strings.Repeat("a/", 250))
	f.Fuzz(func(t *testing.T, template, prefix, value, sourceTopic string) {
		tmpl, problems := compileTemplate(template)
		if problems != nil || checkPrefix(prefix) != "" {
			return
		}
		payload, _ := json.Marshal(map[string]any{"event": value, "tool_id": value, "tool_name": value, "x": value})
		in := newInput(decoded(&bridgev1.Event{Topic: sourceTopic, Payload: payload}))
		out, err := tmpl.render(in, prefix)
		if err != nil {
			return
		}
		checkTopic(t, out)
		levels := 1
		for _, p := range tmpl.parts {
			switch p.kind {
			case literalPart:
				levels += strings.Count(p.literal, "/")
			case prefixPart:
				levels += strings.Count(prefix, "/")
			case sourceTopicPart:
				levels += strings.Count(in.topic, "/")
			}
		}
		if got := strings.Count(out, "/") + 1; got != levels {
			t.Fatalf("%q from %q has %d levels, want %d", out, template, got, levels)
		}
	})
}

func checkTopic(t *testing.T, topic string) {
	t.Helper()
	if err := publishable.Topic(topic); err != nil || strings.HasPrefix(topic, "$") {
		t.Fatalf("unsafe topic %q: %v", topic, err)
	}
}
