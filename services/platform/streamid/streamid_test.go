package streamid

import "testing"

func TestParseTakesOnlyRedisIDs(t *testing.T) {
	for s, want := range map[string]bool{
		"1760468411106-0": true, "0-1": true, "18446744073709551615-18446744073709551615": true,
		"": false, "1760468411106": false, "a-0": false, "1-": false, "-1": false, "1-2-3": false,
		"+1-0": false, "1-0 ": false, "18446744073709551616-0": false, "*": false,
	} {
		if _, ok := Parse(s); ok != want {
			t.Errorf("Parse(%q) ok = %v, want %v", s, ok, want)
		}
	}
}

func TestAfterOrdersByMillisecondsThenNumber(t *testing.T) {
	a, _ := Parse("5-9")
	b, _ := Parse("6-0")
	c, _ := Parse("6-1")
	if !b.After(a) || !c.After(b) || a.After(b) || b.After(b) {
		t.Errorf("5-9 < 6-0 < 6-1 not kept: %v %v %v", a, b, c)
	}
	if c.String() != "6-1" {
		t.Errorf("String = %q", c.String())
	}
}
