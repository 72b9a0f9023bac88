package ingest

import (
	"flag"
	"strings"
	"testing"
	"time"

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

// -router-addr takes a list; a malformed one or a failover of 0 is
// refused at start.
func TestRouterAddrListAndFailover(t *testing.T) {
	o, err := parseOptions(t, "-router-addr", "router-0.router:7002, router-1.router:7002")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.routerAddrs) != 2 || o.routerAddrs[1] != "router-1.router:7002" || o.RouterFailover != 5*time.Second {
		t.Fatalf("addresses %q, failover %s", o.routerAddrs, o.RouterFailover)
	}
	for _, args := range [][]string{
		{"-router-addr", "a:1,,b:1"},
		{"-router-addr", "a:1,a:1"},
		{"-router-addr", "a:1,b:1", "-router-failover", "0s"},
	} {
		if _, err := parseOptions(t, args...); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
}

// -site names the input's site and gives it a topic prefix of its own;
// a name or prefix that cannot go into keys and topics is refused at
// start, saying which flag.
func TestSiteAndItsTopicPrefix(t *testing.T) {
	o, err := parseOptions(t, "-site", "north")
	if err != nil {
		t.Fatal(err)
	}
	if o.SiteTopicPrefix != "north/" {
		t.Errorf("default prefix %q, want north/", o.SiteTopicPrefix)
	}
	o, err = parseOptions(t, "-site", "north", "-site-topic-prefix", "labs/north/")
	if err != nil || o.SiteTopicPrefix != "labs/north/" {
		t.Errorf("prefix %q, %v", o.SiteTopicPrefix, err)
	}
	o, err = parseOptions(t, "-site", "north", "-site-display-timezone", "Europe/Paris")
	if err != nil || o.SiteDisplayTimezone != "Europe/Paris" {
		t.Errorf("display time zone %q, %v", o.SiteDisplayTimezone, err)
	}
	for args, want := range map[[4]string]string{
		{"-site", "North"}: "-site: site name \"North\"",
		{"-site", "a/b"}:   "-site: site name \"a/b\"",
		{"-site", "north", "-site-topic-prefix", "$SYS/"}:            "-site-topic-prefix \"$SYS/\": a prefix cannot start with \"$\"",
		{"-site", "north", "-site-topic-prefix", "labs/+/"}:          "-site-topic-prefix \"labs/+/\": a topic prefix cannot hold",
		{"-site-topic-prefix", "north/"}:                             "-site-topic-prefix \"north/\" needs -site",
		{"-site", "north", "-site-display-timezone", "Mars/Olympus"}: "-site-display-timezone \"Mars/Olympus\" is not a time zone",
		{"-site-display-timezone", "Europe/Paris"}:                   "-site-display-timezone \"Europe/Paris\" needs -site",
	} {
		var list []string
		for _, a := range args {
			if a != "" {
				list = append(list, a)
			}
		}
		_, err := parseOptions(t, list...)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: error %v, want one starting %q", list, err, want)
		}
	}
}

// parseOptions reads args as ingest's command line and validates it.
func parseOptions(t *testing.T, args ...string) (Options, error) {
	t.Helper()
	var o Options
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	o.Bind(fs)
	if err := envflag.Parse(fs, args); err != nil {
		t.Fatal(err)
	}
	return o, o.validate()
}
