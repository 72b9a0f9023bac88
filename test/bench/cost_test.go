package main

import "testing"

func TestMachineTicksReadIdleIowaitAndSteal(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	idle, steal := parseMachineTicks("cpu  6312 0 6051 970789 413 0 114 1821 0 0")
	if idle != 970789+413 || steal != 1821 {
		t.Fatalf("idle %v steal %v, want %v and 1821", idle, steal, 970789+413)
	}
}

func TestMachineTicksOfAnUnknownLineAreZero(t *testing.T) {
	for _, line := range []string{"", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3 4"} {
		if idle, steal := parseMachineTicks(line); idle != 0 || steal != 0 {
			t.Errorf("%q: idle %v steal %v, want 0 and 0", line, idle, steal)
		}
	}
}

func TestSpentTimeAddsStealAcrossStretches(t *testing.T) {
	r := spentNothing(nil)
	r.add(costReading{idleTicks: 10, stealTicks: 1}, costReading{idleTicks: 30, stealTicks: 4})
	r.add(costReading{idleTicks: 50, stealTicks: 6}, costReading{idleTicks: 55, stealTicks: 10})
	if r.idleTicks != 25 || r.stealTicks != 7 {
		t.Fatalf("idle %v steal %v over two stretches, want 25 and 7", r.idleTicks, r.stealTicks)
	}
}
