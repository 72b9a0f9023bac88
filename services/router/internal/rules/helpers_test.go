package rules

import (
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"testing"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

// mustParse parses a rules file made of the header and body.
func mustParse(t testing.TB, body string) *Set {
	t.Helper()
	s, err := Parse("rules.yaml", []byte("version: 1\n"+body))
	if err != nil {
		t.Fatalf("parse:\n%v", err)
	}
	return s
}

// event is an event as ingest hands it over, QoS 1 and not retained unless
// changed.
func event(topic, body string) *bridgev1.Event {
	return decoded(&bridgev1.Event{Id: "1760468411106-0", Topic: topic, Payload: []byte(body), Qos: 1})
}

// decoded is ev with its payload read as ingest reads it.
func decoded(ev *bridgev1.Event) *bridgev1.Event {
	payload.Decode(ev)
	return ev
}

// mustWith is s with the router's settings st.
func mustWith(t *testing.T, s *Set, st Settings) *Set {
	t.Helper()
	c, err := s.WithSettings(st)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// topics lists the topics of msgs.
func topics(msgs []*bridgev1.Message) []string {
	out := []string{}
	for _, m := range msgs {
		out = append(out, m.GetTopic())
	}
	return out
}
