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
}

func evalFields(sc *scope, fields []namedValue) []builtField {
	out := make([]builtField, len(fields))
	for i, f := range fields {
		raw, ok := f.v.eval(sc)
		if !ok {
			raw = jsonNull
		}
		b := builtField{name: f.name}
		b.raw, _ = sc.asASCII(raw)
		var s string
		if f.fit && json.Unmarshal(b.raw, &s) == nil {
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
	out := []byte{'{'}
	for i, f := range fields {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(append(append(out, jsonString(f.name)...), ':'), f.raw...)
	}
	return append(out, '}')
}
