package router

import (
	"testing"
	"time"
)

// A budget of 1,000 a second lets a quiet second's 1,000 through at once,
// then one per millisecond however many come, and all of them again once
// they come slower than that.
func TestBudgetPassesRateASecondSpreadOverABurst(t *testing.T) {
	start := time.Unix(1000, 0)
	b := newBudget(1000, start)
	passed := 0
	for range 5000 { // a burst at one instant
		if b.take(start) {
			passed++
		}
	}
	if passed != 1000 {
		t.Errorf("%d of a burst of 5,000 passed; want the 1,000 saved up", passed)
	}
	// 20,000 a second for one second: one in twenty passes, evenly.
	passed, lastGap, gaps := 0, 0, map[int]int{}
	for i := range 20000 {
		if b.take(start.Add(time.Duration(i+1) * 50 * time.Microsecond)) {
			passed++
			gaps[i-lastGap]++
			lastGap = i
		}
	}
	if passed < 990 || passed > 1010 {
		t.Errorf("%d of 20,000 in a second passed; want about 1,000", passed)
	}
	if len(gaps) > 3 {
		t.Errorf("gaps between passes %v; want an even spread (one in twenty)", gaps)
	}
	// 500 a second: under the rate, all pass.
	at := start.Add(2 * time.Second)
	for i := range 500 {
		if !b.take(at.Add(time.Duration(i) * 2 * time.Millisecond)) {
			t.Fatalf("item %d at 500 a second did not pass", i)
		}
	}
}
