package rules

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The keys of a value written as a mapping: exactly one source, and the
// settings that go with it.
var (
	sourceKeys   = []string{"field", "state", "map", "time", "person", "task", "tasks", "task_count"}
	modifierKeys = []string{"default", "values", "format", "max", "first_line", "max_chars", "fit"}
	valueKeys    = append(append([]string(nil), sourceKeys...), modifierKeys...)
	textMods     = []string{"default", "values", "first_line", "max_chars", "fit"}
	modifiersOf  = map[string][]string{
		"field":      textMods,
		"state":      textMods,
		"task":       textMods,
		"map":        {"values", "default", "first_line", "max_chars", "fit"},
		"time":       {"format"},
		"person":     {"max", "fit"},
		"tasks":      {"fit"},
		"task_count": {},
	}
)

// The fields {state: …} and {task: …} read: those of statusv1.Tool and
// statusv1.Task as JSON writes them (snake_case).
var (
	stateFields = protoFieldNames((&statusv1.Tool{}).ProtoReflect().Descriptor().Fields())
	taskFields  = protoFieldNames((&statusv1.Task{}).ProtoReflect().Descriptor().Fields())
)

func protoFieldNames(fields protoreflect.FieldDescriptors) []string {
	names := make([]string, fields.Len())
	for i := range names {
		names[i] = string(fields.Get(i).Name())
	}
	return names
}

// valueContext is where a value is written.
type valueContext struct {
	// aboutTask: in a publish with "about: open_task", where {task: …}
	// reads that task.
	aboutTask bool
	// inTasks: in an entry of {tasks: …}, where {task: …} reads each task.
	inTasks bool
	// maxBytes: the publish gives max_bytes, so fit may be used.
	maxBytes bool
	// fitList: in an entry of {tasks: …, fit: true}, whose texts may be
	// marked fit too.
	fitList bool
}

// payload reads "payload:", a mapping of output field → value, in order.
func (d *decoder) payload(n *yaml.Node, path string, ctx valueContext) []namedValue {
	f, ok := d.mapping(n, path, nil)
	if !ok {
		return nil
	}
	out := make([]namedValue, 0, len(f.order))
	lists := 0
	var shown []string // the fields that count the list's tasks
	for _, name := range f.order {
		e := f.byKey[name]
		v, fit := d.value(e.value, join(path, name), ctx)
		switch v := v.(type) {
		case tasksValue:
			lists++
		case taskCountValue:
			if v.shown {
				shown = append(shown, name)
			}
		}
		if v != nil {
			out = append(out, namedValue{name: name, v: v, fit: fit})
		}
	}
	for _, name := range shown {
		if lists != 1 {
			d.errorf(resolve(f.byKey[name].value), join(path, name), "{task_count: shown} counts the tasks of the list beside it: give exactly one {tasks: …} in this payload (it has %d)", lists)
		}
	}
	return out
}

// value reads one value: a scalar literal (a string may hold template
// variables), or a mapping with one source. It returns nil after an error.
func (d *decoder) value(n *yaml.Node, path string, ctx valueContext) (value, bool) {
	n = resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" {
			t, problems := compileText(n.Value)
			d.templateProblems(n, path, n.Value, problems)
			if len(problems) > 0 {
				return nil, false
			}
			return textValue{t}, false
		}
		raw, ok := d.literal(n, path)
		if !ok {
			return nil, false
		}
		return literalValue{raw}, false
	case yaml.MappingNode:
		return d.source(n, path, ctx)
	}
	d.typeError(n, path, "a value (a string, a number, true, false, null) or one source such as {field: user_name}")
	return nil, false
}

// templateProblems points each problem of a template at its column.
func (d *decoder) templateProblems(n *yaml.Node, path, s string, problems []templateProblem) {
	quote := 0
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		quote = 1
	}
	for _, pr := range problems {
		d.errorAt(n.Line, n.Column+quote+utf8.RuneCountInString(s[:pr.offset]), path, "%s", pr.msg)
	}
}

// literal is the JSON of a YAML scalar that is not a string.
func (d *decoder) literal(n *yaml.Node, path string) (json.RawMessage, bool) {
	switch n.ShortTag() {
	case "!!null":
		return jsonNull, true
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return json.RawMessage(strconv.FormatBool(b)), true
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return json.RawMessage(strconv.FormatInt(i, 10)), true
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			b, _ := json.Marshal(f)
			return b, true
		}
	case "!!str":
		return jsonString(n.Value), true
	}
	d.errorf(n, path, "%s cannot be written in JSON", describe(n))
	return nil, false
}

// source reads a mapping with exactly one source key and its settings.
func (d *decoder) source(n *yaml.Node, path string, ctx valueContext) (value, bool) {
	f, ok := d.mapping(n, path, valueKeys)
	if !ok {
		return nil, false
	}
	var src string
	for _, k := range f.order {
		if !slices.Contains(sourceKeys, k) {
			continue
		}
		if src != "" {
			d.errorf(f.byKey[k].key, join(path, k), "two sources, %s and %s: a value has exactly one", src, k)
			return nil, false
		}
		src = k
	}
	if src == "" {
		if len(f.misspelt) == 0 {
			d.errorf(n, path, "no source: give one of field, state, map, time, person, task, tasks or task_count")
		}
		return nil, false
	}
	valid := true
	for _, k := range f.order {
		if k != src && !slices.Contains(modifiersOf[src], k) {
			takes := "no other settings"
			if mods := modifiersOf[src]; len(mods) > 0 {
				takes = "only " + strings.Join(mods, ", ")
			}
			d.errorf(f.byKey[k].key, join(path, k), "%s does not go with %s (%s takes %s)", k, src, src, takes)
			valid = false
		}
	}
	fit := false
	if e, ok := f.byKey["fit"]; ok && valid {
		fit, _ = d.boolean(e.value, join(path, "fit"))
		switch {
		case fit && ctx.inTasks && !ctx.fitList:
			d.errorf(e.key, join(path, "fit"), "fit in a listed task shortens its text to keep the message within max_bytes: write fit: true on the {tasks: …} list too")
		case fit && !ctx.maxBytes:
			d.errorf(e.key, join(path, "fit"), "fit shortens this text to keep the message within max_bytes: give max_bytes on the publish")
		}
	}
	srcNode := f.byKey[src].value
	srcPath := join(path, src)
	var v value
	switch src {
	case "field":
		if p, ok := d.fieldPath(srcNode, srcPath); ok {
			v = fieldValue{p}
		}
	case "map":
		if p, ok := d.fieldPath(srcNode, srcPath); ok {
			v = fieldValue{p}
		}
		if _, ok := f.byKey["values"]; !ok && f.absent("values") {
			d.errorf(n, join(path, "values"), "missing: map looks the field's value up in values, such as {values: {a: x, b: y}}")
			valid = false
		}
	case "state":
		if name, ok := d.known(srcNode, srcPath, "state field", stateFields); ok {
			v = stateValue{name}
		}
	case "task":
		if !ctx.aboutTask && !ctx.inTasks {
			d.errorf(f.byKey[src].key, srcPath, "task reads the task a publish is about: add \"about: open_task\" to this publish, or list the open tasks with {tasks: …}")
			return nil, false
		}
		if name, ok := d.known(srcNode, srcPath, "task field", taskFields); ok {
			v = taskValue{name}
		}
	case "time":
		tv := timeValue{}
		for _, it := range d.oneOrList(srcNode, srcPath) {
			if p, ok := d.fieldPath(it.node, it.path); ok {
				tv.paths = append(tv.paths, p)
			}
		}
		if e, ok := f.byKey["format"]; ok {
			if format, ok := d.known(e.value, join(path, "format"), "format", []string{"display", "iso"}); ok {
				tv.iso = format == "iso"
			}
		}
		if tv.paths != nil {
			v = tv
		}
	case "person":
		if p, ok := d.fieldPath(srcNode, srcPath); ok {
			pv := personValue{path: p}
			if e, ok := f.byKey["max"]; ok {
				pv.max = d.positive(e.value, join(path, "max"), "a number of characters")
			}
			v = pv
		}
	case "tasks":
		if ctx.inTasks {
			d.errorf(f.byKey[src].key, srcPath, "tasks cannot be listed inside tasks")
			return nil, false
		}
		v = d.tasks(srcNode, srcPath, valueContext{inTasks: true, maxBytes: ctx.maxBytes, fitList: fit})
	case "task_count":
		if ctx.inTasks {
			d.errorf(f.byKey[src].key, srcPath, "task_count counts the tasks of the whole message: write it beside the list, not in it")
			return nil, false
		}
		if which, ok := d.known(srcNode, srcPath, "task count", []string{"open", "shown"}); ok {
			v = taskCountValue{shown: which == "shown"}
		}
	}
	if v == nil || !valid {
		return nil, false
	}
	if e, ok := f.byKey["values"]; ok {
		v = mapped{v, d.values(e.value, join(path, "values"))}
	}
	if e, ok := f.byKey["default"]; ok {
		// A default is shortened with the value it stands in for; a fit
		// of its own would say nothing more.
		def, _ := d.value(e.value, join(path, "default"), ctx)
		if def == nil {
			return nil, false
		}
		v = withDefault{v, def}
	}
	sh := shortened{v: v}
	if e, ok := f.byKey["first_line"]; ok {
		sh.firstLine, _ = d.boolean(e.value, join(path, "first_line"))
	}
	if e, ok := f.byKey["max_chars"]; ok {
		sh.maxChars = d.positive(e.value, join(path, "max_chars"), "a number of characters")
	}
	if sh.firstLine || sh.maxChars > 0 {
		v = sh
	}
	return v, fit
}

// fieldPath reads a dotted payload field path.
func (d *decoder) fieldPath(n *yaml.Node, path string) ([]string, bool) {
	name, ok := d.str(n, path)
	if !ok {
		return nil, false
	}
	if !validFieldPath(name) {
		d.errorf(resolve(n), path, "%q is not a field path (want names separated by dots, such as user_name or tool.id)", name)
		return nil, false
	}
	return strings.Split(name, "."), true
}

// known reads a name that must be one of names.
func (d *decoder) known(n *yaml.Node, path, what string, names []string) (string, bool) {
	name, ok := d.str(n, path)
	if !ok {
		return "", false
	}
	if slices.Contains(names, name) {
		return name, true
	}
	msg := fmt.Sprintf("unknown %s %q", what, name)
	if guess := closest(name, names); guess != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", guess)
	}
	d.errorf(resolve(n), path, "%s; known: %s", msg, strings.Join(names, ", "))
	return "", false
}

// tasks reads {tasks: [NAMES]} (each task with those fields) or
// {tasks: {OUT: VALUE, ...}} (each task as an object of those values, in
// which {task: NAME} reads the task), in the context of a listed task.
func (d *decoder) tasks(n *yaml.Node, path string, inner valueContext) value {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		var fields []namedValue
		for i, c := range n.Content {
			if name, ok := d.known(c, fmt.Sprintf("%s[%d]", path, i), "task field", taskFields); ok {
				fields = append(fields, namedValue{name: name, v: taskValue{name}})
			}
		}
		return tasksValue{fields}
	case yaml.MappingNode:
		return tasksValue{d.payload(n, path, inner)}
	}
	d.typeError(n, path, "a list of task fields, or a mapping of output fields to values")
	return nil
}

// values reads the table of a lookup: scalar → scalar. A key is matched
// with the text of the value looked up ("true", "12", "tool_enabled").
func (d *decoder) values(n *yaml.Node, path string) map[string]json.RawMessage {
	n = resolve(n)
	table := map[string]json.RawMessage{}
	if n.Kind != yaml.MappingNode {
		d.typeError(n, path, "a mapping of values, such as {a: x, b: y}")
		return table
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.typeError(k, path, "a value to look up")
			continue
		}
		key := k.Value
		if k.ShortTag() == "!!bool" {
			var b bool
			_ = k.Decode(&b)
			key = strconv.FormatBool(b)
		}
		p := join(path, key)
		if _, dup := table[key]; dup {
			d.errorf(k, p, "given twice")
			continue
		}
		if v.Kind != yaml.ScalarNode {
			d.typeError(v, p, "a value (a string, a number, true, false or null)")
			continue
		}
		if raw, ok := d.literal(v, p); ok {
			table[key] = raw
		}
	}
	return table
}
