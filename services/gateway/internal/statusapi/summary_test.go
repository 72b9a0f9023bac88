package statusapi

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

func TestSummaryNamesTheHopTheOthersWaitOn(t *testing.T) {
	now := time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)
	since := timestamppb.New(time.Date(2026, 11, 24, 10, 42, 0, 0, time.UTC))
	up := func(name string) *statusv1.Hop { return &statusv1.Hop{Name: name, Healthy: true} }
	down := func(name, summary, detail string) *statusv1.Hop {
		return &statusv1.Hop{Name: name, Summary: summary, Detail: detail, Since: since}
	}
	expired := "The broker's certificate expired on 2026-11-20. Ask IT to renew it."
	tests := []struct {
		name     string
		hops     []*statusv1.Hop
		b        backlog
		warnings []*statusv1.HealthWarning
		want     []string
	}{
		{"all well", []*statusv1.Hop{up("redis"), up("ingest"), up("router"), up("publisher"), up("broker")}, backlog{}, nil,
			[]string{"Everything is working: tool displays are up to date."}},
		{"broker down: the publisher's reason, not the services waiting on it",
			[]*statusv1.Hop{up("redis"), down("ingest", "running, but x", ""), down("router", "running, but y", ""), up("publisher"),
				down("broker", "cannot reach the broker at mqtts://broker.lab.edu:8883", expired)}, backlog{}, nil,
			[]string{"cannot reach the MQTT broker at mqtts://broker.lab.edu:8883 since 10:42 AM", expired}},
		{"broker down, no reason known", []*statusv1.Hop{up("redis"), down("broker", "cannot reach the broker at mqtt://b:1883", "")}, backlog{}, nil,
			[]string{"cannot reach the MQTT broker at mqtt://b:1883", "Check that the broker is running"}},
		{"redis first", []*statusv1.Hop{down("redis", "cannot reach Redis at r:6379", "dial tcp"), down("broker", "cannot reach the broker at x", "")}, backlog{}, nil,
			[]string{"cannot reach its Redis database at r:6379 since 10:42 AM", "cannot read NEMO's events"}},
		{"a service down", []*statusv1.Hop{up("redis"), up("broker"), down("router", "not running, or not reachable at router:7002", "")}, backlog{}, nil,
			[]string{"The bridge's router service is not running, or not reachable at router:7002 since 10:42 AM", "no event is lost"}},
		{"one site's ingests down", []*statusv1.Hop{up("redis"), up("broker"), up("router"), down("ingest", "nobody reads site north's events: not running, or not reachable at n0:7001, n1:7001", "")}, backlog{}, nil,
			[]string{"Since 10:42 AM, nobody reads site north's events: not running, or not reachable at n0:7001, n1:7001, so that site's tool displays are not being updated.", "no event is lost"}},
		{"behind", []*statusv1.Hop{up("redis")}, backlog{waiting: 900, inFlight: 100, oldest: now.Add(-5 * time.Minute)}, nil,
			[]string{"1000 events are waiting", "5 minutes old", "behind"}},
		{"a warning, with every hop working, is the sentence", []*statusv1.Hop{up("redis"), up("broker")}, backlog{waiting: 900, oldest: now.Add(-5 * time.Minute)},
			[]*statusv1.HealthWarning{{Code: "other_list_consumer", Summary: "Another program is taking NEMO's events."}, {Code: "events_in_other_list", Summary: "Other."}},
			[]string{"Another program is taking NEMO's events."}},
		{"a hop down comes before a warning", []*statusv1.Hop{up("redis"), down("broker", "cannot reach the broker at mqtt://b:1883", "")}, backlog{},
			[]*statusv1.HealthWarning{{Code: "other_list_consumer", Summary: "Another program is taking NEMO's events."}},
			[]string{"cannot reach the MQTT broker"}},
		{"a little backlog is not news", []*statusv1.Hop{up("redis")}, backlog{waiting: 10, oldest: now.Add(-2 * time.Second)}, nil,
			[]string{"Everything is working"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(tt.hops, tt.b, tt.warnings, now)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary %q\nlacks %q", got, w)
				}
			}
		})
	}
}

func TestClockSaysTheDayOnlyWhenNotToday(t *testing.T) {
	now := time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)
	if got := clock(now.Add(-time.Hour), now); got != "10:00 AM" {
		t.Errorf("today: %q", got)
	}
	if got := clock(now.Add(-48*time.Hour), now); got != "Nov 22, 11:00 AM" {
		t.Errorf("two days ago: %q", got)
	}
}
