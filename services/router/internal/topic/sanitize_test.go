package topic

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"nemo/tools/12/enabled", "nemo/tools/12/enabled"},
		{"nemo/tools/Raith EBL/start", "nemo/tools/Raith EBL/start"},
		{"nemo/tools/a+b/start", "nemo/tools/a_b/start"},
		{"nemo/tools/#/start", "nemo/tools/_/start"},
		{"nemo//tools", "nemo/_/tools"},
		{"/nemo/", "_/nemo/_"},
		{"$SYS/broker", "_SYS/broker"},
		{"nemo/$x", "nemo/$x"},
		{"nemo/a\x00b", "nemo/ab"},
		{"nemo/\x00", "nemo/_"},
		{"nemo/\xff", "nemo/\uFFFD"},
		{"nemo/tools/a\tb\nc\x7f\u0085/start", "nemo/tools/a_b_c__/start"},
	} {
		got, err := Sanitize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Sanitize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSanitizeRefusesWhatCannotBeMadeSafe(t *testing.T) {
	for name, in := range map[string]string{
		"empty":    "",
		"too long": strings.Repeat("a", MaxLen+1),
	} {
		if got, err := Sanitize(in); err == nil {
			t.Errorf("%s: Sanitize = %q, want an error", name, got)
		}
	}
}

func FuzzSanitizeAlwaysYieldsAPublishableTopic(f *testing.F) {
	for _, s := range []string{"nemo/tools/12/enabled", "$SYS/#", "a/+/b", "//", "\x00", "nemo/tools/R&D #2/start"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Sanitize(in)
		if err != nil {
			return
		}
		if !publishable(out) {
			t.Fatalf("Sanitize(%q) = %q, which is not publishable", in, out)
		}
		if again, _ := Sanitize(out); again != out {
			t.Fatalf("Sanitize is not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}

func publishable(t string) bool {
	return t != "" && len(t) <= MaxLen && utf8.ValidString(t) && !strings.ContainsAny(t, "+#\x00") && !strings.HasPrefix(t, "$")
}
