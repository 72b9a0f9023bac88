package timezone

import (
	"strings"
	"testing"
)

// IANA names load; the machine's zone, an empty name and an unknown one
// are refused with the name and an example.
func TestLoadTakesIANANamesOnly(t *testing.T) {
	for _, name := range []string{"UTC", "Europe/Paris", "America/Los_Angeles"} {
		if loc, err := Load(name); err != nil || loc.String() != name {
			t.Errorf("Load(%q) = %v, %v", name, loc, err)
		}
	}
	for _, name := range []string{"", "Local", "Mars/Olympus"} {
		if _, err := Load(name); err == nil || !strings.Contains(err.Error(), `"`+name+`" is not a time zone: give an IANA name`) {
			t.Errorf("Load(%q) = %v, want a refusal naming it", name, err)
		}
	}
}
