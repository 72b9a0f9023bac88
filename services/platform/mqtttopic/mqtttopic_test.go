package mqtttopic

import "testing"

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
