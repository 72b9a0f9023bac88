package brokerurls

import (
	"slices"
	"testing"
)

func TestSplitCutsOnlyBetweenURLs(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want []string
	}{
		{"mqtts://a:8883", []string{"mqtts://a:8883"}},
		{"mqtt://a mqtt://b", []string{"mqtt://a", "mqtt://b"}},
		{" mqtt://a,mqtts://b , ,mqtt://c, ", []string{"mqtt://a", "mqtts://b", "mqtt://c"}},
		// A comma inside a password does not separate; one before a scheme does.
		{"mqtts://u:p,w@a,mqtts://b", []string{"mqtts://u:p,w@a", "mqtts://b"}},
		{"mqtts://u:p,mqtt@a", []string{"mqtts://u:p,mqtt@a"}},
		// Any scheme separates, so that an unsupported one is refused as a URL of its own.
		{"mqtt://a,http://b", []string{"mqtt://a", "http://b"}},
		{"", nil},
	} {
		if got := Split(c.raw); !slices.Equal(got, c.want) {
			t.Errorf("Split(%q) = %q; want %q", c.raw, got, c.want)
		}
	}
}
