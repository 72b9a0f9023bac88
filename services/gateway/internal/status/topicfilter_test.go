package status

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
		if err := checkFilter(tt.filter); err != nil {
			t.Fatalf("checkFilter(%q): %v", tt.filter, err)
		}
		if got := topicMatches(strings.Split(tt.filter, "/"), tt.topic); got != tt.match {
			t.Errorf("%q matches %q = %v, want %v", tt.filter, tt.topic, got, tt.match)
		}
	}
	for _, bad := range []string{"nemo/#/x", "nemo/to+ols", "nemo/#x"} {
		if checkFilter(bad) == nil {
			t.Errorf("checkFilter(%q) accepted it", bad)
		}
	}
}
