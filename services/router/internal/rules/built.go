package rules

import "encoding/json"

// builtField is one field of a payload being built.
type builtField struct {
	name string
	raw  json.RawMessage
	// fit: a text that may be shortened (see fitPayload); text is all of
	// it, as raw held it before any cut.
	fit  bool
	text []rune
	// list, for a {tasks: …, fit: true}: the tasks, which fitPayload may
	// drop and whose texts it may shorten; raw is then unused.
	list *taskList
	// shown: {task_count: shown}, set to how many tasks the list holds.
	shown bool
}

// taskList is a list of tasks being built, oldest first.
type taskList struct{ entries [][]builtField }

func evalFields(sc *scope, fields []namedValue) []builtField {
	out := make([]builtField, len(fields))
	for i, f := range fields {
		b := builtField{name: f.name}
		switch v := f.v.(type) {
		case tasksValue:
			if f.fit {
				b.list = v.list(sc)
			}
		case taskCountValue:
			b.shown = v.shown
		}
		if b.list == nil {
			raw, ok := f.v.eval(sc)
			if !ok {
				raw = jsonNull
			}
			b.raw, _ = sc.asASCII(raw)
		}
		var s string
		if f.fit && b.list == nil && json.Unmarshal(b.raw, &s) == nil {
			// Written as short as JSON allows from the start (a source
			// may have escaped < as \u003c), as its cut forms are: room
			// is reckoned from what the message holds.
			b.fit, b.text, b.raw = true, []rune(s), jsonString(s)
		}
		out[i] = b
	}
	return out
}

func encodeObject(fields []builtField) []byte {
	size := 2 // {}, then per field "name": and a comma: 4; a list grows it
	for _, f := range fields {
		size += len(f.name) + len(f.raw) + 4
	}
	return appendObject(make([]byte, 0, size), fields)
}

func appendObject(out []byte, fields []builtField) []byte {
	out = append(out, '{')
	for i, f := range fields {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(appendJSONString(out, f.name), ':')
		if f.list != nil {
			out = f.list.appendJSON(out)
		} else {
			out = append(out, f.raw...)
		}
	}
	return append(out, '}')
}

func (l *taskList) appendJSON(out []byte) []byte {
	out = append(out, '[')
	for i, e := range l.entries {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendObject(out, e)
	}
	return append(out, ']')
}
