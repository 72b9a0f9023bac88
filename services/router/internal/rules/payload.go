package rules

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/loosejson"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"google.golang.org/protobuf/encoding/protojson"
)

// A value is one field of a payload that a publish builds ("payload:"):
// a literal, a text template, or a source such as {field: user_name}.
type value interface {
	// eval returns the value as JSON, or false when its source holds
	// nothing (an absent or null field, no tool state); a default, if
	// given, then stands in.
	eval(sc *scope) (json.RawMessage, bool)
}

// scope is what values read: the event, the tool's state after it, and the
// task a publish is about.
type scope struct {
	in       *input
	prefix   string
	settings *Settings
	state    *statusv1.Tool
	// task is the open task an "about: open_task" publish, or one entry of
	// a tasks list, is about.
	task *statusv1.Task
	// ascii: the texts are for the tool screens and written in ASCII (a
	// file with "screens: true", unless the router says otherwise).
	ascii bool

	// stateDoc is the state as JSON, written once the first value asks
	// for it.
	stateDoc []byte
}

// namedValue is one output field of a built payload.
type namedValue struct {
	name string
	v    value
	// fit marks a text that is shortened to keep the message within the
	// publish's max_bytes.
	fit bool
}

var jsonNull = json.RawMessage("null")

// jsonString encodes s without escaping <, > and &, which only cost bytes
// on a screen's small buffer.
func jsonString(s string) json.RawMessage {
	return appendJSONString(nil, s)
}

// appendJSONString appends s as jsonString writes it. Most strings (field
// names, tool names, topics) are printable ASCII without '"' or '\\',
// which encoding/json writes as they are between quotes: those are
// written here without an encoder; the others go through one.
func appendJSONString(out []byte, s string) []byte {
	if plainJSON(s) {
		out = append(out, '"')
		out = append(out, s...)
		return append(out, '"')
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(out, bytes.TrimRight(b.Bytes(), "\n")...)
}

// plainJSON says whether encoding/json (without HTML escaping) writes s
// between quotes unchanged: printable ASCII, no '"' or '\\'.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// marker ends a text cut short: "…", or "..." for a screen in ASCII,
// whose font has no "…".
func (sc *scope) marker() string {
	if sc.ascii {
		return "..."
	}
	return "…"
}

// asASCII writes a string value in ASCII when the scope's texts are for
// the screens; other values stay as they are. lost says the text had
// something to show and has nothing left, as a name in CJK letters only.
func (sc *scope) asASCII(raw json.RawMessage) (out json.RawMessage, lost bool) {
	if !sc.ascii || asciiAlready(raw) {
		return raw, false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return raw, false
	}
	a := ASCII(s)
	if a == s {
		return raw, false
	}
	return jsonString(a), strings.TrimSpace(a) == "" && strings.TrimSpace(s) != ""
}

// asciiAlready says raw has no byte beyond ASCII and no escape: a number,
// true, null, or a string that ASCII leaves as it is. asASCII answers
// those without decoding them.
func asciiAlready(raw json.RawMessage) bool {
	for _, c := range raw {
		if c >= utf8.RuneSelf || c == '\\' {
			return false
		}
	}
	return true
}

func present(raw json.RawMessage, ok bool) bool {
	return ok && string(bytes.TrimSpace(raw)) != "null"
}

// literalValue is a scalar written in the rules file.
type literalValue struct{ raw json.RawMessage }

func (v literalValue) eval(*scope) (json.RawMessage, bool) { return v.raw, true }

// textValue is a string with template variables, written as plain text.
type textValue struct{ t topicTemplate }

func (v textValue) eval(sc *scope) (json.RawMessage, bool) {
	return jsonString(v.t.text(sc.in, sc.prefix)), true
}

// fieldValue is a payload field as its JSON value.
type fieldValue struct{ path []string }

func (v fieldValue) eval(sc *scope) (json.RawMessage, bool) {
	raw, ok := sc.in.field(v.path)
	if !present(raw, ok) {
		return nil, false
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return nil, false
	}
	return b.Bytes(), true
}

// stateValue is a field of the tool's state after the event.
type stateValue struct{ name string }

func (v stateValue) eval(sc *scope) (json.RawMessage, bool) {
	if sc.state == nil {
		return nil, false
	}
	if sc.stateDoc == nil {
		doc, err := records.MarshalTool(sc.state)
		if err != nil {
			return nil, false
		}
		sc.stateDoc = doc
	}
	raw, ok := docField(sc.stateDoc, v.name)
	return raw, present(raw, ok)
}

// taskValue is a field of the task a publish is about.
type taskValue struct{ name string }

func (v taskValue) eval(sc *scope) (json.RawMessage, bool) {
	if sc.task == nil {
		return nil, false
	}
	raw, ok := docField(taskDoc(sc.task), v.name)
	return raw, present(raw, ok)
}

func taskDoc(t *statusv1.Task) []byte {
	doc, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(t)
	if err != nil {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, doc) != nil {
		return nil
	}
	return b.Bytes()
}

// docField is object(doc)[name] for a doc protojson wrote (valid JSON),
// without the map: a value of the state or a task is read by scanning
// the doc's top level. The value is doc's own bytes, capped so that an
// append cannot write over the rest of doc. Not an object: false.
func docField(doc []byte, name string) (json.RawMessage, bool) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, false
	}
	var found json.RawMessage
	ok := false
	for i++; ; {
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return nil, false
		}
		switch doc[i] {
		case '}':
			return found, ok
		case ',':
			i++
			continue
		case '"':
		default:
			return nil, false
		}
		keyEnd := skipString(doc, i)
		if keyEnd < 0 {
			return nil, false
		}
		key := doc[i:keyEnd]
		if i = skipSpace(doc, keyEnd); i >= len(doc) || doc[i] != ':' {
			return nil, false
		}
		i = skipSpace(doc, i+1)
		end := skipValue(doc, i)
		if end < 0 {
			return nil, false
		}
		if keyIs(key, name) { // the last of a repeated key, as encoding/json
			found, ok = doc[i:end:end], true
		}
		i = end
	}
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at doc[i], or
// -1 if it does not end.
func skipString(doc []byte, i int) int {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at doc[i], or -1.
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return -1
	}
	switch doc[i] {
	case '"':
		return skipString(doc, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(doc); j++ {
			switch doc[j] {
			case '"':
				if j = skipString(doc, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(doc) && !strings.ContainsRune(",}] \t\r\n", rune(doc[j])) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// keyIs says whether the JSON string key (with its quotes) is name.
func keyIs(key []byte, name string) bool {
	inner := key[1 : len(key)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == name
	}
	var s string
	return json.Unmarshal(key, &s) == nil && s == name
}

// tasksValue is the list of the tool's open tasks, oldest first, each an
// object of the given fields.
type tasksValue struct{ fields []namedValue }

func (v tasksValue) eval(sc *scope) (json.RawMessage, bool) {
	return v.list(sc).appendJSON(nil), true
}

func (v tasksValue) list(sc *scope) *taskList {
	l := &taskList{}
	for _, t := range sc.state.GetOpenTasks() {
		each := *sc
		each.task = t
		l.entries = append(l.entries, evalFields(&each, v.fields))
	}
	return l
}

// taskCountValue is how many tasks the tool has open. With shown, it
// counts those the payload's list holds instead: all of them, unless the
// list had to drop some to fit (see fitPayload), which then sets it.
type taskCountValue struct{ shown bool }

func (v taskCountValue) eval(sc *scope) (json.RawMessage, bool) {
	return json.RawMessage(strconv.Itoa(len(sc.state.GetOpenTasks()))), true
}

// timeValue is the first of some payload fields that holds a time, else
// when NEMO wrote the event, formatted for people or machines.
type timeValue struct {
	paths [][]string
	iso   bool
}

// DefaultDisplayTimeLayout is how "format: display" writes a time unless
// the router is told otherwise, in the display time zone: "Nov 04, 09:03
// AM", byte for byte what the display server it replaces wrote with
// strftime("%b %d, %I:%M %p"), day and hour zero-padded.
const DefaultDisplayTimeLayout = "Jan 02, 03:04 PM"

func (v timeValue) eval(sc *scope) (json.RawMessage, bool) {
	when, ok := time.Time{}, false
	for _, p := range v.paths {
		if raw, found := sc.in.field(p); found {
			if when, ok = loosejson.Time(raw); ok {
				break
			}
		}
	}
	if !ok {
		switch ev := sc.in.ev; {
		case ev.GetWrittenAt() != nil:
			when, ok = ev.GetWrittenAt().AsTime(), true
		case ev.GetReadAt() != nil:
			when, ok = ev.GetReadAt().AsTime(), true
		}
	}
	if !ok {
		return nil, false
	}
	if v.iso {
		return jsonString(when.UTC().Format(time.RFC3339)), true
	}
	return jsonString(when.In(sc.settings.location()).Format(sc.settings.timeLayout())), true
}

// personValue is a user's name made to fit a small screen (see
// DisplayName), or the tool's last known user when the event names none.
type personValue struct {
	path []string
	max  int // 0: the router's display name length
}

func (v personValue) eval(sc *scope) (json.RawMessage, bool) {
	max := v.max
	if max == 0 {
		max = sc.settings.nameLength()
	}
	name := sc.in.text(v.path)
	if DisplayName(name, max) == "" {
		name = sc.state.GetLastUser()
	}
	// In ASCII first, so that max counts the letters the screen shows
	// (ß is two); a name with nothing left in ASCII shows as nothing,
	// never as the last user.
	if sc.ascii {
		name = ASCII(name)
	}
	return jsonString(DisplayName(name, max)), true
}

// DisplayName is a NEMO user name as the display server it replaces
// showed it: the part before the first "(" (NEMO adds the role in
// parentheses, and people a nickname: "Li (Lily) Wu (lwu)" is "Li"),
// without white space around it; when that is longer than max characters,
// its first word, cut to max. Python's
//
//	name = full_user_name.split('(')[0].strip()
//	if len(name) > max_name_length: name = name.split()[0][:max_name_length]
//
// counting characters as Python does (code points) and with Python's
// white space.
func DisplayName(name string, max int) string {
	name, _, _ = strings.Cut(name, "(")
	name = strings.TrimFunc(name, pythonSpace)
	if utf8.RuneCountInString(name) <= max {
		return name
	}
	first := []rune(strings.FieldsFunc(name, pythonSpace)[0])
	return string(first[:min(max, len(first))])
}

// pythonSpace is white space as Python's str.split and str.strip see it:
// Go's, and the separators U+001C to U+001F.
func pythonSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// withDefault stands in def when v holds nothing, or, for a screen in
// ASCII, a text with nothing left to show: a tool named in CJK letters
// only shows its default ("Tool 12") rather than an empty name.
type withDefault struct{ v, def value }

func (w withDefault) eval(sc *scope) (json.RawMessage, bool) {
	if raw, ok := w.v.eval(sc); ok {
		if raw, lost := sc.asASCII(raw); !lost {
			return raw, true
		}
	}
	return w.def.eval(sc)
}

// mapped looks the text of v up in a table; a value not in it holds
// nothing (so that a default stands in).
type mapped struct {
	v      value
	values map[string]json.RawMessage
}

func (m mapped) eval(sc *scope) (json.RawMessage, bool) {
	raw, ok := m.v.eval(sc)
	if !ok {
		return nil, false
	}
	out, ok := m.values[scalarText(raw)]
	return out, ok
}

// scalarText is the text a value is looked up by: a string's content, or
// a number or boolean as written.
func scalarText(raw json.RawMessage) string {
	if s, ok := loosejson.String(raw); ok {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// shortened is a text reduced to its first line or a number of
// characters; a value that is not a string is left as it is.
type shortened struct {
	v         value
	firstLine bool
	maxChars  int
}

func (s shortened) eval(sc *scope) (json.RawMessage, bool) {
	raw, ok := s.v.eval(sc)
	if !ok {
		return nil, false
	}
	// In ASCII first, so that max_chars counts what a screen shows.
	raw, _ = sc.asASCII(raw)
	var str string
	if json.Unmarshal(raw, &str) != nil {
		return raw, true
	}
	if s.firstLine {
		str, _, _ = strings.Cut(strings.TrimLeftFunc(str, unicode.IsSpace), "\n")
		str = strings.TrimRightFunc(str, unicode.IsSpace)
	}
	if s.maxChars > 0 {
		str = cut([]rune(str), s.maxChars, sc.marker())
	}
	return jsonString(str), true
}

// cut keeps the first n characters of r, ending in marker when it
// shortened them (the marker counting among the n); too short to hold the
// marker, the first n characters.
func cut(r []rune, n int, marker string) string {
	if len(r) <= n {
		return string(r)
	}
	keep := n - utf8.RuneCountInString(marker)
	if keep < 1 {
		return string(r[:n])
	}
	return strings.TrimRightFunc(string(r[:keep]), unicode.IsSpace) + marker
}

// newestOpenTask is the task opened last among those still open.
func newestOpenTask(t *statusv1.Tool) *statusv1.Task {
	tasks := t.GetOpenTasks()
	if len(tasks) == 0 {
		return nil
	}
	return tasks[len(tasks)-1]
}
