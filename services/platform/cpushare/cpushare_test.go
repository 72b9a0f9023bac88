package cpushare

import (
	"runtime"
	"slices"
	"strconv"
	"testing"
)

// Each service gets a third of the cores, and never none.
func TestShareGivesEachPipelineServiceAThirdOfTheCoresAndOneAtLeast(t *testing.T) {
	for cores, want := range map[int]int{1: 1, 2: 1, 4: 1, 6: 2, 8: 2, 16: 5, 64: 21} {
		if got := Share(cores); got != want {
			t.Errorf("Share(%d) = %d, want %d", cores, got, want)
		}
	}
}

// Env adds GOMAXPROCS and leaves the rest as it was; an operator's own
// GOMAXPROCS is kept; the caller's slice is not written to.
func TestEnvSetsGOMAXPROCSUnlessTheOperatorDid(t *testing.T) {
	inherited := make([]string, 2, 8)
	inherited[0], inherited[1] = "PATH=/usr/bin", "HOME=/root"
	got := Env(inherited)
	want := []string{"PATH=/usr/bin", "HOME=/root", "GOMAXPROCS=" + strconv.Itoa(Share(runtime.GOMAXPROCS(0)))}
	if !slices.Equal(got, want) {
		t.Errorf("Env = %q, want %q", got, want)
	}
	if extra := inherited[:3][2]; extra != "" {
		t.Errorf("Env wrote %q into the caller's slice", extra)
	}

	own := []string{"GOMAXPROCS=7", "PATH=/usr/bin"}
	if got := Env(own); !slices.Equal(got, own) {
		t.Errorf("Env(%q) = %q, want it unchanged", own, got)
	}
}
