package rules

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// jsonString writes every string as encoding/json does without HTML
// escaping, by the fast path or not.
func TestJSONStringIsEncodingJSONs(t *testing.T) {
	want := func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		return string(bytes.TrimRight(b.Bytes(), "\n"))
	}
	cases := []string{"", "plain", "tool_id", "nemo/tools/12/enabled", `a"b`, `a\b`, "<&>", "tab\there", "nl\n", "\x00\x1f\x7f",
		"José", "…", "\u2028\u2029", "bad \xff utf-8", "R+D #1"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(2) == 0 {
				b[i] = byte(0x20 + r.IntN(0x60))
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got := string(jsonString(s)); got != want(s) {
			t.Fatalf("jsonString(%q) = %s, encoding/json writes %s", s, got, want(s))
		}
		if got := string(appendJSONString([]byte("x"), s)); got != "x"+want(s) {
			t.Fatalf("appendJSONString(x, %q) = %s", s, got)
		}
	}
}
