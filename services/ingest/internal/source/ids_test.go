package source

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// An envelope as the NEMO plugin writes it (Python's json.dumps: ", " and
// ": " between items, non-ASCII as \uXXXX, in the payload and again in the
// envelope).
const (
	enabled  = `{"topic": "nemo/tools/12/enabled", "payload": "{\"event\": \"tool_enabled\", \"tool_id\": 12, \"user_name\": \"Jos\\u00e9 Mu\\u00f1oz\", \"usage_id\": 7}", "qos": 1, "retain": false, "timestamp": 1764534000.123456}`
	disabled = `{"topic": "nemo/tools/12/disabled", "payload": "{\"event\": \"tool_disabled\", \"tool_id\": 12, \"user_name\": \"Jos\\u00e9 Mu\\u00f1oz\", \"usage_id\": 7}", "qos": 1, "retain": false, "timestamp": 1764534060.654321}`
)

// A restarted ingest (a new List) gives an entry the id the previous run
// gave it, and another entry another id, so that event ids neither repeat
// across runs nor change when a crash makes an entry be read again.
func TestListIDIsAFunctionOfTheEntry(t *testing.T) {
	first, second := newList(nil, "l", "p", nil), newList(nil, "l", "p", nil)
	a, b := first.entry(enabled), second.entry(disabled)
	if a.ID == b.ID {
		t.Fatalf("two runs gave different entries the same id %q", a.ID)
	}
	if again := second.entry(enabled); again.ID != a.ID {
		t.Fatalf("the same entry read by another run has id %q, first %q", again.ID, a.ID)
	}
	if !strings.HasPrefix(a.ID, "list-") || len(a.ID) != len("list-")+32 {
		t.Fatalf("id %q: want list- and 128 bits in hex", a.ID)
	}
}

// Identical entries in flight at once get distinct ids, and an id is free
// again once its entry is acknowledged.
func TestListIdenticalEntriesInFlightGetDistinctIDs(t *testing.T) {
	l := newList(nil, "l", "p", nil)
	one, two, three := l.entry(enabled), l.entry(enabled), l.entry(enabled)
	if two.ID != one.ID+"-2" || three.ID != one.ID+"-3" {
		t.Fatalf("ids in flight: %q %q %q", one.ID, two.ID, three.ID)
	}
	l.release([]Entry{one})
	if again := l.entry(enabled); again.ID != one.ID {
		t.Fatalf("after the first was acknowledged the next identical entry got %q, want %q", again.ID, one.ID)
	}
	if fourth := l.entry(enabled); fourth.ID != one.ID+"-4" {
		t.Fatalf("with the base, -2 and -3 in flight the next got %q, want -4", fourth.ID)
	}
}

func TestPubSubIDsDifferAcrossRuns(t *testing.T) {
	a, b := &PubSub{run: runID()}, &PubSub{run: runID()}
	if a.run == b.run {
		t.Fatalf("two runs share the run id %q", a.run)
	}
	if x, y := a.entry(message(enabled)), b.entry(message(enabled)); x.ID == y.ID {
		t.Fatalf("the first message of two runs has the same id %q", x.ID)
	}
}

func message(payload string) *redis.Message {
	return &redis.Message{Channel: "nemo_mqtt_events", Payload: payload}
}
