package harness

import "testing"

// The strings Python 3's json.dumps writes for the same values (checked
// with python3 -c 'import json; print(json.dumps(...))').
func TestPyDumpsWritesWhatPythonWrites(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{Dict("tool_name", "Étuve 3/B <x> & y", "n", 12, "ok", false, "none", nil), `{"tool_name": "\u00c9tuve 3/B <x> & y", "n": 12, "ok": false, "none": null}`},
		{"光刻机 🔬\n\"q\"", `"\u5149\u523b\u673a \ud83d\udd2c\n\"q\""`},
		{1764534000.123456, `1764534000.123456`},
		{Dict("a", Dict("b", "\x01\x7f")), `{"a": {"b": "\u0001\u007f"}}`},
	} {
		if got := PyDumps(c.v); got != c.want {
			t.Errorf("PyDumps(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}
