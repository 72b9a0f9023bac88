package service

import (
	"runtime/debug"
	"testing"
)

// The collector's pace is the bridge's unless the operator set GOGC.
func TestTheCollectorsPaceYieldsToGOGC(t *testing.T) {
	t.Cleanup(func() { debug.SetGCPercent(100) })
	t.Setenv("GOGC", "")
	debug.SetGCPercent(100)
	paceCollector()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC %d without the operator's, want %d", got, gcPercent)
	}
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50) // as the runtime read it at start
	paceCollector()
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC %d although the operator set 50, want it kept", got)
	}
}
