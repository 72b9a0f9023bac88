package harness

import (
	"strings"
	"testing"
)

func msgs(evs ...TestEvent) []Message {
	out := make([]Message, len(evs))
	for i, e := range evs {
		out[i] = Message{Topic: e.Topic(), Payload: e.Payload()}
	}
	return out
}

func TestCheckOrder(t *testing.T) {
	a0, a1, a2 := TestEvent{0, 0}, TestEvent{0, 1}, TestEvent{0, 2}
	b0, b1 := TestEvent{1, 0}, TestEvent{1, 1}
	for _, tc := range []struct {
		name string
		in   []Message
		want string // "" means valid
	}{
		{"interleaved tools", msgs(a0, b0, a1, b1, a2), "tool 1: 2 of 3"},
		{"complete", msgs(a0, b0, a1, b1, a2, TestEvent{1, 2}), ""},
		{"duplicates after a resend", msgs(a0, a1, a0, a1, a2, b0, b1, b0, b1, TestEvent{1, 2}), ""},
		{"reordered", msgs(a1, a0, a2), "event 1 arrived when 0 was next"},
		{"gap", msgs(a0, a2), "event 2 arrived when 1 was next"},
	} {
		_, err := CheckOrder(tc.in, 2, 3)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestDistinctSetsResendsAside(t *testing.T) {
	a0, a1, b0 := TestEvent{0, 0}, TestEvent{0, 1}, TestEvent{1, 0}
	if n := Distinct(msgs(a0, a1, a0, b0, a1)); n != 3 {
		t.Errorf("Distinct = %d, want 3", n)
	}
}

func TestCheckOrderAcross(t *testing.T) {
	a0, a1, a2 := TestEvent{0, 0}, TestEvent{0, 1}, TestEvent{0, 2}
	b0, b1, b2 := TestEvent{1, 0}, TestEvent{1, 1}, TestEvent{1, 2}
	for _, tc := range []struct {
		name string
		in   [][]Message
		want string // "" means valid
	}{
		{"one subscriber got everything", [][]Message{msgs(a0, b0, a1, b1, a2, b2), nil}, ""},
		{"split between the nodes", [][]Message{msgs(a0, b0, a1), msgs(a0, b0, a2, b1, b2)}, ""},
		{"a gap on one node, duplicates on the other", [][]Message{msgs(a0, a1, b0), msgs(a0, a2, a0, a2, b0, b1, b0, b2)}, ""},
		{"reordered on the second", [][]Message{msgs(a0, a1, a2, b0), msgs(b2, b1)}, "subscriber 2, tool 1: event 1 arrived after 2"},
		{"missing from both", [][]Message{msgs(a0, a1, b0), msgs(b1, b2)}, "1 events reached no subscriber (tool/event: 0/2)"},
	} {
		_, err := CheckOrderAcross(tc.in, 2, 3)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
