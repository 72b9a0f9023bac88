package route

import (
	"strings"
	"testing"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

func TestPassthroughPrefixesAndSanitises(t *testing.T) {
	msgs, rej := Passthrough{Prefix: "site1/"}.Route(&bridgev1.Event{Id: "5-0", Topic: "nemo/tools/R+D #1/start", Payload: []byte(`{"tool_id":1}`), Qos: 2, Retain: true, OrderingKey: "tool:1"})
	if rej != nil {
		t.Fatal(rej.Reason)
	}
	m := msgs[0]
	if m.GetTopic() != "site1/nemo/tools/R_D _1/start" || m.GetQos() != 2 || !m.GetRetain() || m.GetContentType() != "application/json" ||
		m.GetUserProperties()["event_id"] != "5-0" || m.GetOrderingKey() != "tool:1" {
		t.Fatalf("message %v", m)
	}
	if msgs, _ := (Passthrough{}).Route(&bridgev1.Event{Topic: "t", Payload: []byte("plain text")}); msgs[0].GetContentType() != "" {
		t.Error("plain text payload labelled as JSON")
	}
}

func TestPassthroughRejectsTopicsThatCannotBePublished(t *testing.T) {
	_, rej := Passthrough{Prefix: "p/"}.Route(&bridgev1.Event{Topic: strings.Repeat("a", 65535)})
	if rej == nil || rej.Code != "invalid_topic" {
		t.Fatalf("got %+v, want invalid_topic", rej)
	}
}
