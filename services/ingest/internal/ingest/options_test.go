package ingest

import (
	"flag"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
)

// A lab names its list with one plain setting, LIST_KEY, as for `make run`.
func TestListKeyNamesTheList(t *testing.T) {
	t.Setenv("LIST_KEY", "NEMO_mqtt_events")
	var o Options
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	o.Bind(fs)
	if err := envflag.Parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if o.List != "NEMO_mqtt_events" {
		t.Fatalf("LIST_KEY=NEMO_mqtt_events: ingest reads the list %q", o.List)
	}
}
