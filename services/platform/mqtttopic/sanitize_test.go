package mqtttopic

import (
	"strings"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
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
		{"nemo/tools/Etch \uFFFF/start", "nemo/tools/Etch _/start"},
		{"nemo/tools/\uFDD0\uFDEF\uFFFE\U0001FFFE\U0010FFFF/start", "nemo/tools/_____/start"},
		{"nemo/tools/\uFEFF\uE000😀\uFDCF/start", "nemo/tools/\uFEFF\uE000😀\uFDCF/start"},
	} {
		got, err := Sanitize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Sanitize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// Levels past what brokers take are kept, in the last level.
func TestSanitizeKeepsExcessLevelsInTheLast(t *testing.T) {
	in := "nemo/tools/" + strings.Repeat("x/", 250) + "start"
	got, err := Sanitize(in)
	if err != nil {
		t.Fatal(err)
	}
	levels := strings.Split(got, "/")
	if len(levels) != publishable.MaxTopicLevels {
		t.Fatalf("%d levels, want %d", len(levels), publishable.MaxTopicLevels)
	}
	if last := levels[len(levels)-1]; last != strings.Repeat("x_", 52)+"start" {
		t.Errorf("last level %q", last)
	}
	fits := strings.Repeat("a/", publishable.MaxTopicLevels-1) + "a"
	if got, _ := Sanitize(fits); got != fits {
		t.Errorf("a topic of %d levels was changed", publishable.MaxTopicLevels)
	}
}

func TestSanitizeRefusesWhatCannotBeMadeSafe(t *testing.T) {
	for name, in := range map[string]string{
		"empty":    "",
		"too long": strings.Repeat("a", publishable.MaxTopicBytes+1),
	} {
		if got, err := Sanitize(in); err == nil {
			t.Errorf("%s: Sanitize = %q, want an error", name, got)
		}
	}
}

// The seeds are in testdata/fuzz, which test/e2e also publishes to a real
// mosquitto to hold publishable.Topic to what the broker does.
func FuzzSanitizeAlwaysYieldsAPublishableTopic(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Sanitize(in)
		if publishableAsIs(in) {
			if slow, err := sanitize(in); err != nil || slow != in {
				t.Fatalf("%q passed as it is, but the full sanitizing makes it %q (%v)", in, slow, err)
			}
		}
		if err != nil {
			return
		}
		if err := publishable.Topic(out); err != nil {
			t.Fatalf("Sanitize(%q) = %q, which is not publishable: %v", in, out, err)
		}
		if strings.HasPrefix(out, "$") {
			t.Fatalf("Sanitize(%q) = %q, a broker topic", in, out)
		}
		if again, _ := Sanitize(out); again != out {
			t.Fatalf("Sanitize is not idempotent: %q -> %q -> %q", in, out, again)
		}
	})
}

func TestSafeLevel(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "_",
		"Etch/RIE #2":        "Etch_RIE _2",
		"a\x00b\uFFFF\u0085": "a_b__",
		"Zoë 😀":              "Zoë 😀",
	} {
		if got := SafeLevel(in); got != want {
			t.Errorf("SafeLevel(%q) = %q, want %q", in, got, want)
		}
		if p := publishable.TopicChars(SafeLevel(in)); p != nil || strings.Contains(SafeLevel(in), "/") {
			t.Errorf("SafeLevel(%q) = %q: %v", in, SafeLevel(in), p)
		}
	}
}
