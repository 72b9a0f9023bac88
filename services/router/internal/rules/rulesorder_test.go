package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFirstMatchWinsUnlessContinue(t *testing.T) {
	s := mustParse(t, `
rules:
  - name: tools-first
    match: {topic: "nemo/tools/#"}
    publish: [{topic: first}]
    continue: true
  - name: enabled
    match: {event: tool_enabled}
    publish: [{topic: second}, {topic: second-again}]
  - name: never-reached-for-enabled
    match: {topic: "nemo/tools/#"}
    publish: [{topic: third}]
  - name: everything
    publish: [{topic: last}]
`)
	for _, tc := range []struct {
		name, topic, payload string
		topics, matched      []string
	}{
		{"continue, then the first match stops", "nemo/tools/1/enabled", `{"event":"tool_enabled"}`,
			[]string{"first", "second", "second-again"}, []string{"tools-first", "enabled"}},
		{"continue, then another rule", "nemo/tools/1/disabled", `{"event":"tool_disabled"}`,
			[]string{"first", "third"}, []string{"tools-first", "never-reached-for-enabled"}},
		{"only the catch-all", "nemo/areas/1", `{"event":"area_access_granted"}`,
			[]string{"last"}, []string{"everything"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, matched, err := s.Apply(event(tc.topic, tc.payload), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.topics, topics(msgs)); diff != "" {
				t.Errorf("topics (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.matched, matched); diff != "" {
				t.Errorf("matched (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEmptyPublishFiltersTheEvent(t *testing.T) {
	s := mustParse(t, `
rules:
  - name: drop-reservations
    match: {topic: "nemo/reservations/#"}
    publish: []
  - name: everything
    publish: [{topic: "{topic}"}]
`)
	msgs, matched, err := s.Apply(event("nemo/reservations/7", `{"event":"reservation_created"}`), nil)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("got %v, %v; want no messages", topics(msgs), err)
	}
	if diff := cmp.Diff([]string{"drop-reservations"}, matched); diff != "" {
		t.Errorf("matched (-want +got):\n%s", diff)
	}
}

func TestNoRuleMatchingPublishesNothing(t *testing.T) {
	s := mustParse(t, "rules:\n  - name: only-tools\n    match: {topic: \"nemo/tools/#\"}\n    publish: [{topic: x}]\n")
	msgs, matched, err := s.Apply(event("nemo/areas/1", `{}`), nil)
	if err != nil || msgs != nil || matched != nil {
		t.Fatalf("got %v %v %v; want nothing", msgs, matched, err)
	}
}

// TestApplyConcurrently runs under -race: a Set serves every stream.
func TestApplyConcurrently(t *testing.T) {
	s := mustParse(t, "rules:\n  - name: r\n    publish: [{topic: \"{tool_id}\", drop: [a]}]\n")
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 100 {
				if msgs, _, err := s.Apply(event("t", `{"tool_id":1,"a":2}`), nil); err != nil || msgs[0].GetTopic() != "1" {
					t.Errorf("got %v, %v", msgs, err)
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func TestNamesInFileOrder(t *testing.T) {
	s := mustParse(t, "rules:\n  - name: b\n    publish: []\n  - name: a\n    publish: []\n")
	if diff := cmp.Diff([]string{"b", "a"}, s.Names()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}
