package pluginlist

import (
	"strings"
	"testing"
)

func TestWarningsSayWhatToDo(t *testing.T) {
	e := ElsewhereWarning("nemo_mqtt_events", 1, Elsewhere{List: "NEMO_mqtt_events", Entries: 1})
	if !strings.Contains(e.Summary, "the list NEMO_mqtt_events holds 1 entry") || !strings.Contains(e.Summary, "set LIST_KEY=NEMO_mqtt_events") {
		t.Errorf("summary %q", e.Summary)
	}
}
