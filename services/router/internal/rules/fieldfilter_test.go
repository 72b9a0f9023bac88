package rules

import "testing"

func TestFieldFilterKeepsOrderAndBytes(t *testing.T) {
	keep := &fieldFilter{keep: true, names: map[string]bool{"b": true, "d\u00e9": true, "a": true}}
	drop := &fieldFilter{keep: false, names: map[string]bool{"b": true}}
	for _, tc := range []struct {
		name    string
		filter  *fieldFilter
		in, out string
	}{
		{"keep, in the payload's order", keep, `{"c":1,"b":2,"a":{"x": [1, 2]}}`, `{"b":2,"a":{"x": [1, 2]}}`},
		{"keep, escaped key as written", keep, `{"d\u00e9" : "x<y>", "z":0}`, `{"d\u00e9":"x<y>"}`},
		{"drop", drop, ` { "a" : 1 , "b" : 2 , "c" : [3] } `, `{"a":1,"c":[3]}`},
		{"drop every copy of a key", drop, `{"b":1,"a":2,"b":3}`, `{"a":2}`},
		{"empty object", drop, `{}`, `{}`},
		{"plain text", keep, `tool is down`, `tool is down`},
		{"array", keep, `[{"a":1}]`, `[{"a":1}]`},
		{"broken JSON", keep, `{"a":1,`, `{"a":1,`},
		{"trailing data", keep, `{"a":1} {"b":2}`, `{"a":1} {"b":2}`},
	} {
		if got := string(tc.filter.apply([]byte(tc.in))); got != tc.out {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.out)
		}
	}
}
