package main

import (
	"strings"
	"testing"
	"time"
)

// pair is a round whose raw ceiling ran at raw msg/s and drain at drain
// events/s, each 1 s long.
func pair(raw, drain int) drainRound {
	return drainRound{raw: result{messages: raw, took: time.Second}, drain: result{messages: drain, took: time.Second}}
}

func TestMedianRoundIsTheMiddleRatioWithBothItsSides(t *testing.T) {
	rounds := []drainRound{pair(20000, 19000), pair(30000, 24000), pair(25000, 22000)} // 0.95, 0.80, 0.88
	m := medianRound(rounds)
	if m.raw.rate() != 25000 || m.drain.rate() != 22000 {
		t.Fatalf("median round = raw %.0f drain %.0f, want the 0.88 round (25000, 22000)", m.raw.rate(), m.drain.rate())
	}
	if got := roundsText(rounds); got != "0.95 0.80 0.88" {
		t.Fatalf("roundsText = %q, want the ratios in the order measured", got)
	}
	if rounds[0].raw.rate() != 20000 {
		t.Fatal("medianRound reordered its argument")
	}
}

func TestMedianRoundOfAnEvenCountIsTheLowerMiddle(t *testing.T) {
	m := medianRound([]drainRound{pair(100, 90), pair(100, 80), pair(100, 70), pair(100, 95)})
	if got := m.ratio(); got != 0.8 {
		t.Fatalf("median ratio = %.2f, want the lower middle 0.80", got)
	}
}

func TestSummaryDividesByTheMedianRound(t *testing.T) {
	s := summary{raw: result{messages: 20000, took: time.Second}, drain: result{messages: 19000, took: time.Second},
		oneTool: result{messages: 12500, took: time.Second}}
	s.rounds = []drainRound{pair(20000, 19000), pair(30000, 24000), pair(25000, 22000)}
	line := s.partial(map[int]bool{1: true, 2: true, 3: true})
	for _, want := range []string{"drain_ratio=0.88", "one_tool_ratio=0.50", "raw=25000/s", "drain=22000/s"} {
		if !strings.Contains(line, want) {
			t.Errorf("summary %q lacks %s", line, want)
		}
	}
}
