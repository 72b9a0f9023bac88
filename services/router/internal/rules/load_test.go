package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A rule that is valid, to put around a broken one.
const okRule = "  - name: ok\n    publish: [{topic: t}]\n"

// validationCases are files with one mistake each, and the error they get:
// its "file:line:col: path: " and a fragment of its message. They seed
// FuzzParse too.
var validationCases = []struct {
	name, file     string
	want, fragment string
}{
	{"unknown field with a guess", "version: 1\nrules:\n  - name: r\n    publish:\n      - topic: t\n        qso: 1\n",
		"rules.yaml:6:9: rules[0].publish[0].qso: ", `unknown field "qso" (did you mean "qos"?)`},
	{"unknown field of a rule", "version: 1\nrules:\n  - name: r\n    pubish: []\n",
		"rules.yaml:4:5: rules[0].pubish: ", `unknown field "pubish" (did you mean "publish"?)`},
	{"unknown field without a guess", "version: 1\nrules:\n  - name: r\n    colour: red\n    publish: []\n",
		"rules.yaml:4:5: rules[0].colour: ", `unknown field "colour" (known here: name, match, publish, continue)`},
	{"unknown top-level field", "version: 1\nprefx: a/\nrules:\n" + okRule,
		"rules.yaml:2:1: prefx: ", `did you mean "prefix"?`},
	{"field given twice", "version: 1\nrules:\n  - name: r\n    publish: []\n    name: s\n",
		"rules.yaml:5:5: rules[0].name: ", "given twice (first at line 3)"},
	{"missing name", "version: 1\nrules:\n" + okRule + "  - publish: []\n",
		"rules.yaml:5:5: rules[1].name: ", "missing: every rule needs a name"},
	{"empty name", "version: 1\nrules:\n  - name: \"\"\n    publish: []\n",
		"rules.yaml:3:11: rules[0].name: ", "the name is empty"},
	{"duplicate name", "version: 1\nrules:\n" + okRule + "  - name: ok\n    publish: []\n",
		"rules.yaml:5:11: rules[1].name: ", `duplicate rule name "ok" (first used at line 3)`},
	{"unknown variable with a guess", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"nemo/tools/{tool_idd}/x\"}]\n",
		"rules.yaml:4:35: rules[0].publish[0].topic: ", "unknown variable {tool_idd} (did you mean {tool_id}?); known variables: {prefix}, {topic}, {event}, {tool_id}, {tool_name}, {payload.FIELD}"},
	{"unknown variable, plain style", "version: 1\nrules:\n  - name: r\n    publish:\n      - topic: a/{user}\n",
		"rules.yaml:5:18: rules[0].publish[0].topic: ", "unknown variable {user}; known variables: {prefix}"},
	{"payload without a field", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"a/{payload}\"}]\n",
		"rules.yaml:4:26: rules[0].publish[0].topic: ", "a payload field is written {payload.FIELD}"},
	{"payload field path", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"{payload.a..b}\"}]\n",
		"rules.yaml:4:24: rules[0].publish[0].topic: ", `"a..b" is not a field path`},
	{"unclosed brace", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"a/{event\"}]\n",
		"rules.yaml:4:26: rules[0].publish[0].topic: ", `"{" without a "}" after it`},
	{"stray closing brace", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"a/event}\"}]\n",
		"rules.yaml:4:31: rules[0].publish[0].topic: ", `"}" without a "{" before it`},
	{"plus in a template", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"nemo/+/x\"}]\n",
		"rules.yaml:4:29: rules[0].publish[0].topic: ", `a topic cannot hold '+', an MQTT wildcard`},
	{"hash in a template", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"{prefix}nemo/#\"}]\n",
		"rules.yaml:4:37: rules[0].publish[0].topic: ", `a topic cannot hold '#', an MQTT wildcard`},
	{"template starting with $", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"$SYS/x\"}]\n",
		"rules.yaml:4:24: rules[0].publish[0].topic: ", `the topic starts with "$"`},
	{"template starting with $ after the prefix", "version: 1\nprefix: a/\nrules:\n  - name: r\n    publish: [{topic: \"{prefix}$x\"}]\n",
		"rules.yaml:5:32: rules[0].publish[0].topic: ", `the topic starts with "$"`},
	{"empty template", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"\"}]\n",
		"rules.yaml:4:24: rules[0].publish[0].topic: ", "the topic is empty"},
	{"control character in a template", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"a\\tb\"}]\n",
		"rules.yaml:4:25: rules[0].publish[0].topic: ", "control character U+0009"},
	{"noncharacter in a template", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"nemo/tools/Etch \\uFFFF/{event}\"}]\n",
		"rules.yaml:4:40: rules[0].publish[0].topic: ", "a topic cannot hold U+FFFF, a Unicode noncharacter that brokers refuse"},
	{"noncharacter of another plane in a template", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"a/\U0001FFFE\"}]\n",
		"rules.yaml:4:26: rules[0].publish[0].topic: ", "a topic cannot hold U+1FFFE, a Unicode noncharacter"},
	{"template with too many levels", "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"{prefix}" + strings.Repeat("a/", 201) + "{event}\"}]\n",
		"rules.yaml:4:24: rules[0].publish[0].topic: ", "without its variables, the topic has 202 levels; brokers such as mosquitto allow at most 201"},
	{"prefix with a noncharacter", "version: 1\nprefix: \"site\uFDD0/\"\nrules:\n" + okRule,
		"rules.yaml:2:9: prefix: ", "a topic prefix cannot hold U+FDD0, a Unicode noncharacter that brokers refuse"},
	{"prefix with too many levels", "version: 1\nprefix: " + strings.Repeat("a/", 201) + "\nrules:\n" + okRule,
		"rules.yaml:2:9: prefix: ", "by itself, the topic has 202 levels; brokers such as mosquitto allow at most 201"},
	{"missing topic", "version: 1\nrules:\n  - name: r\n    publish:\n      - qos: 1\n",
		"rules.yaml:5:9: rules[0].publish[0].topic: ", "missing: every publish needs a topic"},
	{"invalid QoS", "version: 1\nrules:\n  - name: r\n    publish:\n      - topic: t\n        qos: 3\n",
		"rules.yaml:6:14: rules[0].publish[0].qos: ", "3 is not a valid QoS (want 0, 1 or 2)"},
	{"QoS as a word", "version: 1\nrules:\n  - name: r\n    publish: [{topic: t, qos: high}]\n",
		"rules.yaml:4:31: rules[0].publish[0].qos: ", "high is not a valid QoS (want 0, 1 or 2)"},
	{"bad range", "version: 1\nrules:\n  - name: r\n    match:\n      tool_id: [12, \"30-20\"]\n    publish: []\n",
		"rules.yaml:5:21: rules[0].match.tool_id[1]: ", `bad range "30-20": it starts after it ends (write "20-30")`},
	{"not a tool id", "version: 1\nrules:\n  - name: r\n    match: {tool_id: twelve}\n    publish: []\n",
		"rules.yaml:4:22: rules[0].match.tool_id: ", `want a tool id (12) or an inclusive range of ids ("20-30"), got "twelve"`},
	{"negative tool id", "version: 1\nrules:\n  - name: r\n    match: {tool_id: -3}\n    publish: []\n",
		"rules.yaml:4:22: rules[0].match.tool_id: ", "got -3"},
	{"bad duration", "version: 1\nrules:\n  - name: r\n    publish: [{topic: t, expiry: 1x}]\n",
		"rules.yaml:4:34: rules[0].publish[0].expiry: ", `"1x" is not a duration (want one such as 90s, 15m or 1h)`},
	{"duration without a unit", "version: 1\nrules:\n  - name: r\n    publish: [{topic: t, expiry: 3600}]\n",
		"rules.yaml:4:34: rules[0].publish[0].expiry: ", "3600 has no unit (write 3600s"},
	{"negative duration", "version: 1\nrules:\n  - name: r\n    publish: [{topic: t, expiry: -1s}]\n",
		"rules.yaml:4:34: rules[0].publish[0].expiry: ", "the expiry must be positive"},
	{"duration in milliseconds", "version: 1\nrules:\n  - name: r\n    publish: [{topic: t, expiry: 1500ms}]\n",
		"rules.yaml:4:34: rules[0].publish[0].expiry: ", "MQTT counts expiry in whole seconds"},
	{"duration too long", "version: 1\nrules:\n  - name: r\n    publish: [{topic: t, expiry: 2000000h}]\n",
		"rules.yaml:4:34: rules[0].publish[0].expiry: ", "longer than MQTT's longest expiry (4294967295 seconds)"},
	{"keep and drop", "version: 1\nrules:\n  - name: r\n    publish:\n      - topic: t\n        drop: [a]\n        keep: [b]\n",
		"rules.yaml:7:9: rules[0].publish[0].keep: ", "keep and drop cannot both be given"},
	{"keep is not a list", "version: 1\nrules:\n  - name: r\n    publish: [{topic: t, keep: a}]\n",
		"rules.yaml:4:32: rules[0].publish[0].keep: ", `want a list of field names, got "a"`},
	{"continue is not a boolean", "version: 1\nrules:\n  - name: r\n    publish: []\n    continue: yes\n",
		"rules.yaml:5:15: rules[0].continue: ", `want true or false, got "yes"`},
	{"retain is a number", "version: 1\nrules:\n  - name: r\n    publish: [{topic: t, retain: 1}]\n",
		"rules.yaml:4:34: rules[0].publish[0].retain: ", "want true or false, got 1"},
	{"publish is a mapping", "version: 1\nrules:\n  - name: r\n    publish: {topic: t}\n",
		"rules.yaml:4:14: rules[0].publish: ", `want a list (write "publish: []" to drop the events), got a mapping`},
	{"missing publish", "version: 1\nrules:\n  - name: r\n    match: {event: x}\n",
		"rules.yaml:3:5: rules[0].publish: ", `missing: list the messages to publish, or write "publish: []"`},
	{"rules is a mapping", "version: 1\nrules:\n  r: {}\n",
		"rules.yaml:3:3: rules: ", "want a list of rules, got a mapping"},
	{"rule is a string", "version: 1\nrules:\n  - r\n",
		"rules.yaml:3:5: rules[0]: ", `want a mapping (name: value lines), got "r"`},
	{"name is a list", "version: 1\nrules:\n  - name: [a]\n    publish: []\n",
		"rules.yaml:3:11: rules[0].name: ", "want a string, got a list"},
	{"event is a mapping", "version: 1\nrules:\n  - name: r\n    match: {event: {a: b}}\n    publish: []\n",
		"rules.yaml:4:20: rules[0].match.event: ", "want a value or a list, got a mapping"},
	{"event is a number", "version: 1\nrules:\n  - name: r\n    match: {event: [a, 5]}\n    publish: []\n",
		"rules.yaml:4:24: rules[0].match.event[1]: ", "want a string, got 5"},
	{"empty event list", "version: 1\nrules:\n  - name: r\n    match: {event: []}\n    publish: []\n",
		"rules.yaml:4:20: rules[0].match.event: ", "an empty list matches nothing"},
	{"match is empty", "version: 1\nrules:\n  - name: r\n    match:\n    publish: []\n",
		"rules.yaml:4:11: rules[0].match: ", "want a mapping (name: value lines), got nothing"},
	{"hash inside a filter", "version: 1\nrules:\n  - name: r\n    match: {topic: \"nemo/#/x\"}\n    publish: []\n",
		"rules.yaml:4:20: rules[0].match.topic: ", `"#" must be a whole level and the last one`},
	{"plus inside a level", "version: 1\nrules:\n  - name: r\n    match: {topic: [a, \"nemo/a+\"]}\n    publish: []\n",
		"rules.yaml:4:24: rules[0].match.topic[1]: ", `"+" must be a whole level`},
	{"empty filter", "version: 1\nrules:\n  - name: r\n    match: {topic: \"\"}\n    publish: []\n",
		"rules.yaml:4:20: rules[0].match.topic: ", "the topic filter is empty"},
	{"field with two conditions", "version: 1\nrules:\n  - name: r\n    match:\n      fields:\n        a: {equals: 1, exists: true}\n    publish: []\n",
		"rules.yaml:6:12: rules[0].match.fields.a: ", "give exactly one of equals, exists or in (got 2)"},
	{"field without a condition", "version: 1\nrules:\n  - name: r\n    match: {fields: {a: true}}\n    publish: []\n",
		"rules.yaml:4:25: rules[0].match.fields.a: ", "want a mapping (name: value lines), got true"},
	{"unknown field condition", "version: 1\nrules:\n  - name: r\n    match: {fields: {a: {equal: 1}}}\n    publish: []\n",
		"rules.yaml:4:26: rules[0].match.fields.a.equal: ", `did you mean "equals"?`},
	{"equals a list", "version: 1\nrules:\n  - name: r\n    match: {fields: {a: {equals: [1]}}}\n    publish: []\n",
		"rules.yaml:4:34: rules[0].match.fields.a.equals: ", "want a value (a string, a number, true, false or null), got a list"},
	{"exists is a word", "version: 1\nrules:\n  - name: r\n    match: {fields: {a: {exists: yes}}}\n    publish: []\n",
		"rules.yaml:4:34: rules[0].match.fields.a.exists: ", `want true or false, got "yes"`},
	{"in an empty list", "version: 1\nrules:\n  - name: r\n    match: {fields: {a: {in: []}}}\n    publish: []\n",
		"rules.yaml:4:30: rules[0].match.fields.a.in: ", "an empty list matches nothing"},
	{"bad field path", "version: 1\nrules:\n  - name: r\n    match: {fields: {a.: {exists: true}}}\n    publish: []\n",
		"rules.yaml:4:22: rules[0].match.fields.a.: ", `"a." is not a field path`},
	{"no fields", "version: 1\nrules:\n  - name: r\n    match: {fields: {}}\n    publish: []\n",
		"rules.yaml:4:21: rules[0].match.fields: ", `no fields given`},
	{"unsupported version", "version: 2\nrules:\n" + okRule,
		"rules.yaml:1:10: version: ", "unsupported version 2 (this bridge reads version 1)"},
	{"version as a string", "version: \"1\"\nrules:\n" + okRule,
		"rules.yaml:1:10: version: ", `unsupported version "1"`},
	{"missing version", "rules:\n" + okRule,
		"rules.yaml:1:1: version: ", `missing: write "version: 1" at the top of the file`},
	{"missing rules", "version: 1\nprefix: a/\n",
		"rules.yaml:1:1: rules: ", "missing: the file has no rules"},
	{"empty rules", "version: 1\nrules: []\n",
		"rules.yaml:2:8: rules: ", "the list is empty"},
	{"prefix with a wildcard", "version: 1\nprefix: site+1/\nrules:\n" + okRule,
		"rules.yaml:2:9: prefix: ", "a topic prefix cannot hold '+', an MQTT wildcard, which only subscriptions may use"},
	{"prefix with a dollar", "version: 1\nprefix: $site/\nrules:\n" + okRule,
		"rules.yaml:2:9: prefix: ", `a prefix cannot start with "$"`},
	{"screens not true or false", "version: 1\nscreens: ascii\nrules:\n" + okRule,
		"rules.yaml:2:10: screens: ", `want true or false, got "ascii"`},
	{"top is a list", "- version: 1\n",
		"rules.yaml:1:1: ", "want a mapping (name: value lines), got a list"},
	{"empty file", "",
		"rules.yaml:1:1: ", `the file is empty; a rules file starts with "version: 1"`},
	{"comments only", "# nothing yet\n",
		"rules.yaml:1:1: ", `the file is empty`},
	{"syntax error: the line is all YAML tells", "version: 1\nrules:\n  - name: r: s\n",
		"rules.yaml:3: ", "invalid YAML: mapping values are not allowed in this context"},
	{"syntax error on the first line", "version: [1\n",
		"rules.yaml:1: ", "invalid YAML: did not find expected ',' or ']'"},
	{"second document", "version: 1\nrules:\n" + okRule + "---\nversion: 1\n",
		"rules.yaml:5:1: ", "a second YAML document"},
	{"alias without anchor", "version: 1\nrules:\n  - *r\n",
		"rules.yaml:3:5: ", "alias *r refers to no anchor &r before it"},
	{"alias inside its anchor", "version: 1\nrules: &r\n  - *r\n",
		"rules.yaml:3:5: ", "alias *r is inside the anchor it refers to"},
	{"aliases expanding without end", billionLaughs(),
		"rules.yaml:1:1: ", "the file expands to more than 100000 YAML nodes through its aliases"},
	{"invalid UTF-8", "version: 1\nrules:\n  - name: \"a\xffb\"\n",
		"rules.yaml:3:13: ", "the file is not valid UTF-8"},
	{"control character", "version: 1\nprefix: a\x01\n",
		"rules.yaml:2:10: ", "character U+0001 is not allowed in YAML"},
}

func TestValidationErrors(t *testing.T) {
	for _, tc := range validationCases {
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

// billionLaughs is a short file whose aliases expand to 10^6 nodes.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("version: 1\nl0: &l0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i <= 5; i++ {
		b.WriteString("l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestEveryErrorOfAFileIsReported(t *testing.T) {
	file := `version: 1
rules:
  - name: a
    publish:
      - topic: "x/{tool_idd}"
        qos: 3
  - name: a
    match: {tool_id: "9-1"}
    publish:
      - topic: y
        expiry: soon
`
	_, err := Parse("rules.yaml", []byte(file))
	want := `rules.yaml:5:19: rules[0].publish[0].topic: unknown variable {tool_idd} (did you mean {tool_id}?); known variables: {prefix}, {topic}, {event}, {tool_id}, {tool_name}, {payload.FIELD}
rules.yaml:6:14: rules[0].publish[0].qos: 3 is not a valid QoS (want 0, 1 or 2)
rules.yaml:7:11: rules[1].name: duplicate rule name "a" (first used at line 3)
rules.yaml:8:22: rules[1].match.tool_id: bad range "9-1": it starts after it ends (write "1-9")
rules.yaml:11:17: rules[1].publish[0].expiry: "soon" is not a duration (want one such as 90s, 15m or 1h)`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nrules:\n  - name: r\n    publish: [{topic: t, qos: 5}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":4:31: ") {
		t.Errorf("got %v, want an error naming %s", err, path)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want the error from reading", err)
	}
}
