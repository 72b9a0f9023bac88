package rules

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A tool state for payloads to read: two open tasks, the newest last.
func testState() *statusv1.Tool {
	return &statusv1.Tool{Id: 12, Name: "Furnace", User: "Ada Lovelace (Staff)", LastUser: "Ada Lovelace (Staff)", Operational: true, InUse: true,
		OpenTasks: []*statusv1.Task{
			{Id: 4, ProblemDescription: "Chamber leak\nsee log", SafetyHazard: true},
			{Id: 9, ProblemDescription: "Pump failed", ForceShutdown: true},
		}}
}

// applyPublish applies one publish to an event and returns the payloads.
func applyPublish(t *testing.T, publish string, ev *bridgev1.Event, state *statusv1.Tool, st Settings) []string {
	t.Helper()
	s := mustParse(t, "rules:\n  - name: r\n    publish:\n      - "+strings.ReplaceAll(publish, "\n", "\n        ")+"\n")
	s, err := s.WithSettings(st)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err := s.Apply(ev, state)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.GetPayload()))
	}
	return out
}

func TestBuiltPayloads(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	const enabled = `{"event":"tool_enabled","tool_id":12,"tool_name":"Furnace","user_name":"Emilio Rossi (Admin)","lab":{"room":"B/2+#"},"start_time":"2026-07-04T17:30:00Z","end_time":false,"flag":true,"n":7}`
	written := timestamppb.New(time.Date(2026, 1, 15, 20, 5, 0, 0, time.UTC))
	for _, tc := range []struct {
		name, publish string
		payload       string // default: enabled
		state         *statusv1.Tool
		settings      Settings
		want          []string
	}{
		{"literals and text", "topic: t\npayload: {s: \"hi {tool_id} {payload.lab.room} {topic} {event}\", b: true, n: 12, f: 1.5, z: null, e: \"\", q: \"<&>\"}", "", nil, Settings{},
			[]string{`{"s":"hi 12 B/2+# nemo/tools/12/enabled tool_enabled","b":true,"n":12,"f":1.5,"z":null,"e":"","q":"<&>"}`}},
		{"fields", "topic: t\npayload:\n  u: {field: user_name}\n  room: {field: lab.room}\n  lab: {field: lab}\n  n: {field: n}\n  gone: {field: missing}\n  dflt: {field: missing, default: none}\n  dflt2: {field: missing, default: {field: tool_name}}", "", nil, Settings{},
			[]string{`{"u":"Emilio Rossi (Admin)","room":"B/2+#","lab":{"room":"B/2+#"},"n":7,"gone":null,"dflt":"none","dflt2":"Furnace"}`}},
		{"state", "topic: t\npayload:\n  user: {state: user}\n  name: {state: name}\n  op: {state: operational}\n  busy: {state: in_use}\n  shut: {state: shutdown}", "", testState(), Settings{},
			[]string{`{"user":"Ada Lovelace (Staff)","name":"Furnace","op":true,"busy":true,"shut":false}`}},
		{"no state", "topic: t\npayload:\n  user: {state: user}\n  name: {state: name, default: \"?\"}\n  tasks: {tasks: [id]}", "", nil, Settings{},
			[]string{`{"user":null,"name":"?","tasks":[]}`}},
		{"time", "topic: t\npayload:\n  display: {time: start_time}\n  iso: {time: start_time, format: iso}\n  first: {time: [end_time, start_time], format: iso}\n  written: {time: [missing]}\n  written_iso: {time: missing, format: iso}", "", nil, Settings{DisplayLocation: la},
			[]string{`{"display":"Jul 04, 10:30 AM","iso":"2026-07-04T17:30:00Z","first":"2026-07-04T17:30:00Z","written":"Jan 15, 12:05 PM","written_iso":"2026-01-15T20:05:00Z"}`}},
		{"time in UTC by default", "topic: t\npayload: {display: {time: start_time}}", "", nil, Settings{},
			[]string{`{"display":"Jul 04, 05:30 PM"}`}},
		{"time layout setting", "topic: t\npayload: {display: {time: start_time}}", "", nil, Settings{DisplayLocation: la, DisplayTimeLayout: "2 Jan 15:04"},
			[]string{`{"display":"4 Jul 10:30"}`}},
		{"person", "topic: t\npayload:\n  short: {person: user_name}\n  cut: {person: user_name, max: 4}\n  state: {person: missing}", "", testState(), Settings{},
			[]string{`{"short":"Emilio Rossi","cut":"Emil","state":"Ada Lovelace"}`}},
		{"person, name length setting", "topic: t\npayload: {p: {person: user_name}}", "", nil, Settings{DisplayNameLength: 8},
			[]string{`{"p":"Emilio"}`}},
		{"person without a user anywhere", "topic: t\npayload: {p: {person: missing}}", "", nil, Settings{},
			[]string{`{"p":""}`}},
		{"about the newest open task", "topic: t\nabout: open_task\npayload:\n  id: {task: id}\n  d: {task: problem_description}\n  ev: {task: force_shutdown, values: {true: task_shutdown}, default: task_created}\n  tool: {field: tool_id}", "", testState(), Settings{},
			[]string{`{"id":9,"d":"Pump failed","ev":"task_shutdown","tool":12}`}},
		{"about: no open task, no message", "topic: t\nabout: open_task\npayload: {id: {task: id}}", "", &statusv1.Tool{Id: 12}, Settings{}, nil},
		{"about: no state, no message", "topic: t\nabout: open_task\npayload: {id: {task: id}}", "", nil, Settings{}, nil},
		{"tasks by name", "topic: t\npayload: {tasks: {tasks: [id, force_shutdown]}}", "", testState(), Settings{},
			[]string{`{"tasks":[{"id":4,"force_shutdown":false},{"id":9,"force_shutdown":true}]}`}},
		{"tasks as objects", "topic: t\npayload:\n  tasks:\n    tasks:\n      task_id: {task: id}\n      summary: {task: problem_description, first_line: true, max_chars: 8}\n      tool: {field: tool_id}\n      kind: task", "", testState(), Settings{},
			[]string{`{"tasks":[{"task_id":4,"summary":"Chamber…","tool":12,"kind":"task"},{"task_id":9,"summary":"Pump fa…","tool":12,"kind":"task"}]}`}},
		{"first line and max chars", "topic: t\npayload:\n  a: {field: d, first_line: true}\n  b: {field: d, max_chars: 6}\n  c: {field: d, first_line: true, max_chars: 40}\n  n: {field: n, max_chars: 1}",
			`{"d":"  Leak in the chamber \nsecond line","n":12345}`, nil, Settings{},
			[]string{`{"a":"Leak in the chamber","b":"  Lea…","c":"Leak in the chamber","n":12345}`}},
		{"plain text event", "topic: t\npayload: {a: {field: a}, t: \"{tool_id}\"}", `tool 12 is down`, nil, Settings{},
			[]string{`{"a":null,"t":""}`}},
		{"passes through without payload", "topic: t", `{"z":1,  "a":2}`, nil, Settings{}, []string{`{"z":1,  "a":2}`}},
		{"empty payload", "topic: t\npayload: {}", "", nil, Settings{}, []string{`{}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := tc.payload
			if payload == "" {
				payload = enabled
			}
			ev := event("nemo/tools/12/enabled", payload)
			ev.WrittenAt = written
			got := applyPublish(t, tc.publish, ev, tc.state, tc.settings)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("payloads (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMapValues(t *testing.T) {
	got := applyPublish(t, "topic: t\npayload:\n  a: {map: event, values: {tool_enabled: on, tool_disabled: off}}\n  b: {map: event, values: {x: 1}, default: 0}\n  c: {map: flag, values: {true: yes}}\n  d: {map: n, values: {7: 7.5, 8: eight}}\n  e: {map: missing, values: {a: b}}\n  f: {map: event, values: {tool_enabled: true}}\n  g: {map: s, values: {\"12\": twelve}}",
		event("t", `{"event":"tool_enabled","flag":true,"n":7,"s":12}`), nil, Settings{})
	want := []string{`{"a":"on","b":0,"c":"yes","d":7.5,"e":null,"f":true,"g":"twelve"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFitKeepsTheMessageWithinMaxBytes(t *testing.T) {
	long := strings.Repeat("é\"x ", 200)
	publish := "topic: \"nemo/esp32/{tool_id}/task\"\nmax_bytes: 239\npayload:\n  event: {field: event}\n  summary: {field: d, max_chars: 40, fit: true}\n  d: {field: d, fit: true}\n  name: {field: name, fit: true}"
	for _, tc := range []struct{ d, name string }{{long, "Furnace"}, {"short", long}, {long, long}, {"", ""}} {
		payload, _ := json.Marshal(map[string]any{"event": "task_created", "tool_id": 12, "d": tc.d, "name": tc.name})
		got := applyPublish(t, publish, event("t", string(payload)), nil, Settings{})
		if n := len("nemo/esp32/12/task") + len(got[0]); n > 239 {
			t.Errorf("%d bytes: %s", n, got[0])
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(got[0]), &m); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"summary", "d", "name"} {
			if orig := map[string]string{"summary": tc.d, "d": tc.d, "name": tc.name}[f]; m[f] != orig && !strings.HasSuffix(m[f], "…") && m[f] != "" {
				t.Errorf("%s cut without an ellipsis: %q", f, m[f])
			}
		}
		if tc.d == "short" && m["d"] != "short" {
			t.Errorf("the short text was cut although the long one could be: %s", got[0])
		}
	}
	// What cannot be shortened is an error that names the rule.
	s := mustParse(t, "rules:\n  - name: r\n    publish:\n      - topic: t\n        max_bytes: 10\n        payload: {a: {field: a}}\n")
	_, _, err := s.Apply(event("t", `{"a":"this is not marked fit"}`), nil)
	if err == nil || !strings.Contains(err.Error(), `rule "r", publish[0]: the message takes 31 bytes with its topic, over max_bytes 10`) {
		t.Errorf("got %v", err)
	}
}

func TestSign(t *testing.T) {
	key := []byte("s3cret")
	ev := event("nemo/tools/12/enabled", `{"event":"tool_enabled","tool_id":12}`)
	for _, tc := range []struct {
		name, publish string
		settings      Settings
		signed        bool
	}{
		{"sign: true", "topic: t\nsign: true", Settings{SigningKey: key}, true},
		{"sign unset, no sign-all", "topic: t", Settings{SigningKey: key}, false},
		{"sign unset, sign-all", "topic: t", Settings{SigningKey: key, SignAll: true}, true},
		{"sign: false beats sign-all", "topic: t\nsign: false", Settings{SigningKey: key, SignAll: true}, false},
		{"built payload signed", "topic: t\nsign: true\npayload: {a: 1}", Settings{SigningKey: key}, true},
		{"no key", "topic: t\nsign: false", Settings{SignAll: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := applyPublish(t, tc.publish, ev, nil, tc.settings)[0]
			inner, err := Verify(key, []byte(got))
			if !tc.signed {
				if err == nil {
					t.Fatalf("signed: %s", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %s", err, got)
			}
			if !json.Valid(inner) {
				t.Errorf("inner payload %q", inner)
			}
		})
	}
}

func TestSignedEnvelopeAndForgery(t *testing.T) {
	key := []byte("k")
	env := Sign(key, []byte(`{"a":"<é>"}`))
	want := `{"payload":"{\"a\":\"\u003cé\u003e\"}","hmac":"` + mac(key, `{"a":"<é>"}`) + `","algo":"sha256"}`
	if string(env) != want {
		t.Errorf("got  %s\nwant %s", env, want)
	}
	var e map[string]string
	_ = json.Unmarshal(env, &e)
	e["payload"] = `{"a":"forged"}`
	forged, _ := json.Marshal(e)
	if _, err := Verify(key, forged); err == nil {
		t.Error("a forged payload verified")
	}
	if _, err := Verify([]byte("other"), env); err == nil {
		t.Error("verified with another key")
	}
}

func TestSignTrueWithoutKeyIsRefused(t *testing.T) {
	s := mustParse(t, "rules:\n  - name: r\n    publish:\n      - topic: t\n        sign: true\n")
	_, err := s.WithSettings(Settings{})
	var errs *Errors
	if !errors.As(err, &errs) || err.Error() != "rules.yaml:6:15: rules[0].publish[0].sign: sign: true, but the router has no signing key (give -signing-key-file or SIGNING_KEY)" {
		t.Errorf("got %v", err)
	}
	if _, err := s.WithSettings(Settings{SigningKey: []byte("k")}); err != nil {
		t.Errorf("with a key: %v", err)
	}
}

// DisplayName shows a name as the display server did:
// full_user_name.split('(')[0].strip(), then, when longer than the
// maximum, name.split()[0][:max]; the wants are what Python 3 prints.
func TestDisplayName(t *testing.T) {
	for _, tc := range []struct {
		name string
		max  int
		want string
	}{
		{"Li (Lily) Wu (lwu)", 13, "Li"},
		{"Alex Denton (admin)", 13, "Alex Denton"},
		{"Maximilian Mustermann (mm)", 13, "Maximilian"},
		{"Emilio Rossi (Admin)", 13, "Emilio Rossi"},
		{"Al (x) Bo", 13, "Al"},
		{"Jo (Staff) (Admin)", 13, "Jo"},
		{"(Admin)", 13, ""},
		{"", 13, ""},
		{"  Ada  ", 13, "Ada"},
		{"Alexandria Oc", 13, "Alexandria Oc"},
		{"Alexandria Ocas", 13, "Alexandria"},
		{"Bartholomew Fitzgerald", 13, "Bartholomew"},
		{"Maximiliansupercalifragilistic X", 13, "Maximiliansup"},
		{"Jean-Baptiste Poquelin", 13, "Jean-Baptiste"},
		{"Zoë Ångström-Øster (User)", 13, "Zoë"},
		{"李小龍 (Bruce Lee)", 13, "李小龍"},
		{"李小龍歐陽娜娜司馬相如諸葛亮孔明", 13, "李小龍歐陽娜娜司馬相如諸葛"},
		{"🔬🔬🔬🔬🔬🔬🔬 🔬🔬🔬🔬🔬🔬🔬", 13, "🔬🔬🔬🔬🔬🔬🔬"},
		{"\u3000Ada\u3000Byron\u3000Lovelace\u3000", 13, "Ada"},
		{"Ada\x1cLovelace-Byron-King", 13, "Ada"}, // Python splits at U+001C too
		{"Emilio Rossi (Admin)", 4, "Emil"},
		{"Ada Lovelace", 5, "Ada"},
	} {
		if got := DisplayName(tc.name, tc.max); got != tc.want {
			t.Errorf("DisplayName(%q, %d) = %q, want %q", tc.name, tc.max, got, tc.want)
		}
	}
}

// payloadValidationCases are files with one mistake each in the new
// payload settings, checked as validationCases are.
var payloadValidationCases = []struct {
	name, file     string
	want, fragment string
}{
	{"unknown source with a guess", pub("payload: {a: {feild: x}}"),
		"rules.yaml:6:23: rules[0].publish[0].payload.a.feild: ", `unknown field "feild" (did you mean "field"?)`},
	{"two sources", pub("payload: {a: {field: x, state: user}}"),
		"rules.yaml:6:33: rules[0].publish[0].payload.a.state: ", "two sources, field and state: a value has exactly one"},
	{"no source", pub("payload: {a: {default: 1}}"),
		"rules.yaml:6:22: rules[0].publish[0].payload.a: ", "no source: give one of field, state, map, time, person, task, tasks or task_count"},
	{"unknown state field", pub("payload: {a: {state: usr}}"),
		"rules.yaml:6:30: rules[0].publish[0].payload.a.state: ", `unknown state field "usr" (did you mean "user"?); known: id, name, in_use, user`},
	{"unknown format", pub("payload: {a: {time: start_time, format: local}}"),
		"rules.yaml:6:49: rules[0].publish[0].payload.a.format: ", `unknown format "local"; known: display, iso`},
	{"format with a guess", pub("payload: {a: {time: start_time, format: isoo}}"),
		"rules.yaml:6:49: rules[0].publish[0].payload.a.format: ", `unknown format "isoo" (did you mean "iso"?)`},
	{"task outside about", pub("payload: {a: {task: id}}"),
		"rules.yaml:6:23: rules[0].publish[0].payload.a.task: ", `task reads the task a publish is about: add "about: open_task"`},
	{"unknown task field", pub("about: open_task\n        payload: {a: {task: problem}}"),
		"rules.yaml:7:29: rules[0].publish[0].payload.a.task: ", `unknown task field "problem"; known: id, problem_description`},
	{"modifier of another source", pub("payload: {a: {time: x, default: now}}"),
		"rules.yaml:6:32: rules[0].publish[0].payload.a.default: ", "default does not go with time (time takes only format)"},
	{"modifier of tasks", pub("payload: {a: {tasks: [id], default: []}}"),
		"rules.yaml:6:36: rules[0].publish[0].payload.a.default: ", "default does not go with tasks (tasks takes only fit)"},
	{"fit on tasks without max_bytes", pub("payload: {a: {tasks: [id], fit: true}}"),
		"rules.yaml:6:36: rules[0].publish[0].payload.a.fit: ", "give max_bytes on the publish"},
	{"unknown task count", pub("payload: {a: {task_count: all}}"),
		"rules.yaml:6:35: rules[0].publish[0].payload.a.task_count: ", `unknown task count "all"; known: open, shown`},
	{"task count with a setting", pub("payload: {a: {task_count: open, fit: true}}"),
		"rules.yaml:6:41: rules[0].publish[0].payload.a.fit: ", "fit does not go with task_count (task_count takes no other settings)"},
	{"shown without a list", pub("payload: {a: {task_count: shown}}"),
		"rules.yaml:6:22: rules[0].publish[0].payload.a: ", "{task_count: shown} counts the tasks of the list beside it: give exactly one {tasks: …} in this payload (it has 0)"},
	{"shown beside two lists", pub("payload: {a: {task_count: shown}, b: {tasks: [id]}, c: {tasks: [id]}}"),
		"rules.yaml:6:22: rules[0].publish[0].payload.a: ", "(it has 2)"},
	{"task count in a listed task", pub("payload: {a: {tasks: {n: {task_count: open}}}}"),
		"rules.yaml:6:35: rules[0].publish[0].payload.a.tasks.n.task_count: ", "task_count counts the tasks of the whole message: write it beside the list"},
	{"map without values", pub("payload: {a: {map: event}}"),
		"rules.yaml:6:22: rules[0].publish[0].payload.a.values: ", "missing: map looks the field's value up in values"},
	{"values not a mapping", pub("payload: {a: {map: event, values: [a]}}"),
		"rules.yaml:6:43: rules[0].publish[0].payload.a.values: ", "want a mapping of values, such as {a: x, b: y}, got a list"},
	{"value is a list", pub("payload: {a: [1]}"),
		"rules.yaml:6:22: rules[0].publish[0].payload.a: ", "want a value (a string, a number, true, false, null) or one source"},
	{"payload is a list", pub("payload: [a]"),
		"rules.yaml:6:18: rules[0].publish[0].payload: ", "want a mapping (name: value lines), got a list"},
	{"unknown variable in a text", pub(`payload: {a: "user {usr}"}`),
		"rules.yaml:6:28: rules[0].publish[0].payload.a: ", "unknown variable {usr}"},
	{"unclosed brace in a text", pub(`payload: {a: "x {event"}`),
		"rules.yaml:6:25: rules[0].publish[0].payload.a: ", `"{" without a "}" after it`},
	{"bad field path", pub("payload: {a: {field: a..b}}"),
		"rules.yaml:6:30: rules[0].publish[0].payload.a.field: ", `"a..b" is not a field path`},
	{"payload and keep", pub("payload: {a: 1}\n        keep: [a]"),
		"rules.yaml:7:9: rules[0].publish[0].keep: ", "payload and keep cannot both be given"},
	{"drop and payload", pub("drop: [a]\n        payload: {a: 1}"),
		"rules.yaml:7:9: rules[0].publish[0].payload: ", "payload and drop cannot both be given"},
	{"unknown about", pub("about: task"),
		"rules.yaml:6:16: rules[0].publish[0].about: ", `unknown subject "task" (want open_task`},
	{"max_bytes zero", pub("max_bytes: 0"),
		"rules.yaml:6:20: rules[0].publish[0].max_bytes: ", "want a number of bytes above 0, got 0"},
	{"max_chars a word", pub("payload: {a: {field: x, max_chars: many}}"),
		"rules.yaml:6:44: rules[0].publish[0].payload.a.max_chars: ", `want a number of characters above 0, got "many"`},
	{"fit without max_bytes", pub("payload: {a: {field: x, fit: true}}"),
		"rules.yaml:6:33: rules[0].publish[0].payload.a.fit: ", "give max_bytes on the publish"},
	{"fit inside tasks", pub("max_bytes: 200\n        payload: {a: {tasks: {b: {task: id, fit: true}}}}"),
		"rules.yaml:7:45: rules[0].publish[0].payload.a.tasks.b.fit: ", "fit in a listed task shortens its text to keep the message within max_bytes: write fit: true on the {tasks: …} list too"},
	{"tasks inside tasks", pub("payload: {a: {tasks: {b: {tasks: [id]}}}}"),
		"rules.yaml:6:35: rules[0].publish[0].payload.a.tasks.b.tasks: ", "tasks cannot be listed inside tasks"},
	{"tasks unknown field", pub("payload: {a: {tasks: [id, summary]}}"),
		"rules.yaml:6:35: rules[0].publish[0].payload.a.tasks[1]: ", `unknown task field "summary"`},
	{"sign is a word", pub("sign: yes"),
		"rules.yaml:6:15: rules[0].publish[0].sign: ", `want true or false, got "yes"`},
	{"person max zero", pub("payload: {a: {person: user_name, max: 0}}"),
		"rules.yaml:6:47: rules[0].publish[0].payload.a.max: ", "want a number of characters above 0, got 0"},
	{"unknown publish field with a guess", pub("paylaod: {a: 1}"),
		"rules.yaml:6:9: rules[0].publish[0].paylaod: ", `unknown field "paylaod" (did you mean "payload"?)`},
	{"default with a mistake", pub("payload: {a: {field: x, default: {stat: name}}}"),
		"rules.yaml:6:43: rules[0].publish[0].payload.a.default.stat: ", `unknown field "stat" (did you mean "state"?)`},
}

// pub is a file with one publish to topic t with more settings.
func pub(settings string) string {
	return "version: 1\nrules:\n  - name: r\n    publish:\n      - topic: t\n        " + settings + "\n"
}

func TestPayloadValidationErrors(t *testing.T) {
	for _, tc := range payloadValidationCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("rules.yaml", []byte(tc.file))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want *Errors", err)
			}
			if len(errs.List) != 1 {
				t.Errorf("got %d errors, want one:\n%v", len(errs.List), err)
			}
			first := errs.List[0].Error()
			if !strings.HasPrefix(first, tc.want) || !strings.Contains(first, tc.fragment) {
				t.Errorf("got  %s\nwant %s…%s…", err, tc.want, tc.fragment)
			}
		})
	}
}
