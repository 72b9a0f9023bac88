package rules

import (
	"bytes"
	"encoding/json"
	"io"
)

// fieldFilter keeps only, or drops, some top-level fields of a payload.
type fieldFilter struct {
	keep  bool // true: keep only names; false: drop names
	names map[string]bool
}

// apply rewrites a JSON object payload, keeping its fields in their order
// and each kept field's key and value exactly as written. A payload that is
// not a JSON object (plain text, an array, broken JSON) is returned as it
// is: there are no fields to choose from.
func (f *fieldFilter) apply(payload []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return payload
	}
	out := []byte{'{'}
	for dec.More() {
		keyStart := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return payload
		}
		// The key's bytes as written, without the comma and space before
		// it: re-encoding it could change its escapes.
		rawKey := bytes.TrimLeft(payload[keyStart:dec.InputOffset()], " \t\r\n,")
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return payload
		}
		if f.names[tok.(string)] != f.keep {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(append(append(out, rawKey...), ':'), value...)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return payload
	}
	if _, err := dec.Token(); err != io.EOF {
		return payload
	}
	return append(out, '}')
}
