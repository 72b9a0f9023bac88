package records

import (
	"strings"
	"testing"
)

func TestSiteKeys(t *testing.T) {
	if SiteTools("") != Tools || SiteToolSequences("") != ToolSequences {
		t.Fatalf("the default site must keep the keys of a single-site bridge")
	}
	if got := SiteTools("north"); got != "nemo:bridge:tools:site:north" {
		t.Errorf("SiteTools(north) = %q", got)
	}
	if !SameSlot(SiteTools("north"), SiteToolSequences("north")) {
		t.Errorf("a site's state and sequences must share a hash slot: %q, %q", SiteTools("north"), SiteToolSequences("north"))
	}
	for _, ok := range []string{"", "north", "lab-2", "a", "b_c"} {
		if err := CheckSite(ok); err != nil {
			t.Errorf("CheckSite(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"North", "-a", "a-", "a/b", "a:b", "a b", "{a}", strings.Repeat("a", 64)} {
		if CheckSite(bad) == nil {
			t.Errorf("CheckSite(%q) accepted it", bad)
		}
	}
}
