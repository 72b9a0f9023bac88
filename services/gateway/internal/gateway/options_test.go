package gateway

import (
	"flag"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
)

// The gateway looks at the list ingest reads: LIST_KEY names it for both.
func TestListKeyNamesTheList(t *testing.T) {
	t.Setenv("LIST_KEY", "NEMO_mqtt_events")
	var o Options
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	o.Bind(fs)
	if err := envflag.Parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if o.Input.List != "NEMO_mqtt_events" {
		t.Fatalf("LIST_KEY=NEMO_mqtt_events: the gateway looks at the list %q", o.Input.List)
	}
}
