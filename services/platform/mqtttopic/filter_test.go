package mqtttopic

import (
	"strings"
	"testing"
)

func TestTopicFilters(t *testing.T) {
	tests := []struct {
		filter, topic string
		match         bool
	}{
		{"nemo/tools/+/start", "nemo/tools/12/start", true},
		{"nemo/tools/+/start", "nemo/tools/12/end", false},
		{"nemo/tools/+/start", "nemo/tools/12/start/x", false},
		{"nemo/#", "nemo/tools/12/start", true},
		{"nemo/#", "nemo", true},
		{"#", "anything/at/all", true},
		{"nemo/tools/12", "nemo/tools/12", true},
		{"nemo/tools/12", "nemo/tools/120", false},
		{"+/+", "a/b", true},
		{"+/+", "a", false},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tt.filter, err)
		}
		if got := f.Matches(tt.topic); got != tt.match {
			t.Errorf("%q matches %q = %v, want %v", tt.filter, tt.topic, got, tt.match)
		}
	}
	for _, bad := range []string{"", "nemo/#/x", "nemo/to+ols", "nemo/#x"} {
		if _, err := ParseFilter(bad); err == nil {
			t.Errorf("ParseFilter(%q) accepted it", bad)
		}
	}
}

func TestFilterMatches(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a", false},
		{"+/+", "a/b", true},
		{"#", "a/b/c", true},
		{"a/#", "a", true},
		{"a/b/#", "a", false},
		{"+", "", true},
		{"a/+/c", "a//c", true},
	} {
		if got := Filter(strings.Split(tc.filter, "/")).MatchesLevels(strings.Split(tc.topic, "/")); got != tc.want {
			t.Errorf("filter %q on %q: got %v", tc.filter, tc.topic, got)
		}
	}
}

func TestFiltersBrokersRefuseAreRefused(t *testing.T) {
	for _, f := range []string{"nemo/\uffff/#", "nemo/\x00", "nemo/\xff", strings.Repeat("a/", 201) + "#"} {
		if _, err := ParseFilter(f); err == nil {
			t.Errorf("ParseFilter(%q) took a filter brokers refuse", f)
		}
	}
	if _, err := ParseFilter("nemo/tools/+/status"); err != nil {
		t.Errorf("a good filter refused: %v", err)
	}
}
