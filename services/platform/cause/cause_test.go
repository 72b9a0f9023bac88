package cause

import (
	"testing"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

// The names are what dead letters already hold and what admins sort by:
// they must not change with the enum.
func TestEveryCauseHasItsStableNameAndHop(t *testing.T) {
	want := map[bridgev1.Cause][2]string{
		bridgev1.Cause_CAUSE_NOT_JSON:            {"not_json", Ingest},
		bridgev1.Cause_CAUSE_MISSING_TOPIC:       {"missing_topic", Ingest},
		bridgev1.Cause_CAUSE_INVALID_PAYLOAD:     {"invalid_payload", Ingest},
		bridgev1.Cause_CAUSE_PAYLOAD_TOO_LARGE:   {"payload_too_large", Ingest},
		bridgev1.Cause_CAUSE_INVALID_QOS:         {"invalid_qos", Ingest},
		bridgev1.Cause_CAUSE_DELETED:             {"deleted", Ingest},
		bridgev1.Cause_CAUSE_INVALID_TOPIC:       {"invalid_topic", Router},
		bridgev1.Cause_CAUSE_MESSAGE_TOO_LARGE:   {"message_too_large", Router},
		bridgev1.Cause_CAUSE_IMPOSSIBLE_SEQUENCE: {"impossible_sequence", Router},
		bridgev1.Cause_CAUSE_PUBLISH_REFUSED:     {"publish_refused", Publisher},
		bridgev1.Cause_CAUSE_BROKER_DISCONNECTS:  {"broker_disconnects", Publisher},
	}
	for n := range bridgev1.Cause_name {
		c := bridgev1.Cause(n)
		if c == bridgev1.Cause_CAUSE_UNSPECIFIED {
			continue
		}
		w, ok := want[c]
		if !ok {
			t.Errorf("%v has no expected name here: add it", c)
			continue
		}
		if got := Code(c); got != w[0] {
			t.Errorf("Code(%v) = %q, want %q", c, got, w[0])
		}
		if got := Stage(c); got != w[1] {
			t.Errorf("Stage(%v) = %q, want %q", c, got, w[1])
		}
	}
	if Code(0) != "unknown" {
		t.Error("unspecified must read as unknown")
	}
}
